"""Isolation: an ASL acts only on its own company's accounts, and only holders of the right service credential reach
the purchasing, internal, agent and support-staff calls.

Every RPC each running service serves (asked through server reflection) must be classified in ``METHODS``; for the
calls that act on someone else's data the table also builds a probe aimed at the other company's data. On the whole
system (gateway, the three services, NATS, SMTP sink): two companies onboarded through the real flow, each with an
ASL, a logged-in user, a blocked and a disabled user. Then, from company A against company B:
- every ASL console RPC on each of B's accounts with A's ASL session → PERMISSION_DENIED OTHER_COMPANY_ACCOUNT, and
  the same through the gateway's JSON console (every route with an account identifier, read from /openapi.json:
  403) and the console pages (the page again with the error, no redirect); an unknown identifier answers alike;
- every privileged RPC: no credential or a forged one → UNAUTHENTICATED; the gateway's public credential, alone or
  with a user's or an ASL's session → PERMISSION_DENIED; every other RPC without a credential → UNAUTHENTICATED;
- afterwards B's accounts, sessions, supplier record, the waiting company file, the ticket and B's mailbox are as
  they were. The full run does the same the other way round (B against A).

- isolation_methods.py: every RPC by who may call it, with its probe, and the wrong callers;
- isolation_setup.py: the two companies, the services' clients, the victim's state before and after;
- isolation_probes.py: the probes, console and privileged."""
from __future__ import annotations

import asyncio
import tempfile
from pathlib import Path

from bench.report import Report
from hardening.isolation_methods import CONSOLE, METHODS, OWN_COMPANY, PRIVILEGED, PRIVILEGED_CALLERS, PUBLIC, Targets
from hardening.isolation_probes import console_gateway, console_grpc, privileged
from hardening.isolation_setup import Clients, Tally, company, new_ticket, served_methods, snapshot
from testing.fleet import nats_users
from testing.processes import NatsServer
from tests.e2e.journeys import submitted_presentation
from tests.e2e.stack import Stack, running_stack


async def run(report: Report, *, quick: bool = False) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        server = NatsServer(Path(tmp) / "nats", users=nats_users()).start()
        try:
            async with running_stack(Path(tmp), server) as stack:
                clients = Clients(stack)
                try:
                    await _run(report, stack, clients, quick)
                finally:
                    await clients.close()
        finally:
            server.stop()


async def _run(report: Report, stack: Stack, clients: Clients, quick: bool) -> None:
    served = await served_methods(stack)
    unclassified = [m for m in served if m not in METHODS]
    unclassified += [m for m, (kinds, probe) in METHODS.items()  # a console or privileged RPC needs its probe
                     if probe is None and kinds & (PRIVILEGED | {CONSOLE, OWN_COMPANY}) and PUBLIC not in kinds]
    a, b = await asyncio.gather(company(stack), company(stack))
    presentation_id, ticket = await asyncio.gather(submitted_presentation(stack), new_ticket(stack))
    console, privileged_calls, anonymous, changed = Tally(), Tally(), Tally(), []
    oracle: list[str] = []
    for attacker, victim in [(a, b)] if quick else [(a, b), (b, a)]:
        t = Targets(victim.root, victim.blocked, presentation_id, ticket)
        before = await snapshot(stack, clients, victim, t)
        await console_grpc(clients, attacker, victim, t, console, oracle)
        await console_gateway(stack, attacker, victim, console)
        await privileged(clients, attacker, t, privileged_calls, anonymous)
        await asyncio.sleep(1.5)  # what a let-through call would publish or mail has arrived by now
        after = await snapshot(stack, clients, victim, t)
        changed += [f"{victim.root} {what}" for what in before if before[what] != after[what]]

    kinds: dict[str, int] = {}
    for method in served:
        for kind in METHODS.get(method, ({"UNCLASSIFIED"}, None))[0]:
            kinds[kind] = kinds.get(kind, 0) + 1
    directions = "A→B" if quick else "A→B and B→A"
    report.add("isolation_unclassified_methods", len(unclassified), "RPCs", "0",
               f"{len(served)} served: " + ", ".join(f"{k} {n}" for k, n in sorted(kinds.items()))
               + (f"; missing: {', '.join(unclassified)}" if unclassified else "")
               + (f"; stale entries: {', '.join(m for m in METHODS if m not in served)}"
                  if set(METHODS) - set(served) else ""))
    report.add("isolation_console_calls_checked", console.checked, "calls", "> 0",
               f"{directions}; gRPC with the other ASL's session, the gateway's JSON console and its pages")
    report.add("isolation_console_leaks", len(console.leaks), "calls", "0", "; ".join(console.leaks[:5]))
    report.add("isolation_console_existence_oracle", len(oracle), "RPCs", "0",
               "an unknown identifier answers unlike another company's account: " + "; ".join(oracle) if oracle
               else "unknown identifiers answer like another company's accounts")
    report.add("isolation_privileged_calls_checked", privileged_calls.checked, "calls", "> 0",
               f"{directions}; purchasing, internal, agent and support-staff RPCs × {len(PRIVILEGED_CALLERS)} callers, "
               "and each with every single-role credential it does not admit")
    report.add("isolation_privileged_leaks", len(privileged_calls.leaks), "calls", "0",
               "; ".join(privileged_calls.leaks[:5]))
    report.add("isolation_anonymous_calls_checked", anonymous.checked, "calls", "> 0",
               "every other RPC without a credential or with a forged one")
    report.add("isolation_anonymous_leaks", len(anonymous.leaks), "calls", "0", "; ".join(anonymous.leaks[:5]))
    report.add("isolation_state_changes", len(changed), "records", "0",
               "; ".join(changed) or "the victims' accounts, sessions, supplier, file, ticket and mailbox unchanged")
