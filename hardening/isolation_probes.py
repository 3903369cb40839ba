"""The isolation suite's probes (hardening/isolation.py): one company's ASL on the other's accounts, through gRPC and
the gateway; every privileged RPC with every wrong caller; every other RPC without a credential."""
from __future__ import annotations

import dataclasses
import uuid

from google.protobuf import descriptor_pool
from google.protobuf.message_factory import GetMessageClass
from portal.identity.v1 import identity_service_pb2 as identity

from hardening.isolation_methods import (
    CONSOLE,
    METHODS,
    OTHER_COMPANY,
    OWN_COMPANY,
    PRIVILEGED,
    PRIVILEGED_CALLERS,
    PUBLIC,
    ROLES_ADMITTED,
    SINGLE_ROLE_CALLERS,
    I,
    Targets,
)
from hardening.isolation_setup import Clients, Company, Tally, cofor_roots, short
from tests.e2e.stack import Stack

from gateway.api import CONSOLE_ACTIONS


async def console_grpc(clients: Clients, attacker: Company, victim: Company, t: Targets, tally: Tally,
                       oracle: list[str]) -> None:
    """A's ASL on each of B's accounts, every console RPC; an identifier nobody has must answer the same."""
    unknown = ""
    while not unknown:
        candidate = f"V{uuid.uuid4().int % 1_000_000:06d}"
        _, _, found = await clients.answer(f"{I}.SearchAccounts", identity.SearchAccountsRequest(
            identifier=candidate), as_="operator")
        unknown = candidate if found is not None and not found.accounts else ""
    bearer = attacker.session("asl")
    for method, (kinds, probe) in METHODS.items():
        if CONSOLE in kinds and probe is not None:
            for account in victim.accounts:
                for request in probe(dataclasses.replace(t, account=account)):
                    code, reason, _ = await clients.answer(method, request, bearer=bearer)
                    tally.expect(f"{short(method)} by {attacker.root}'s ASL on {account}", (code, reason),
                                 OTHER_COMPANY)
            code, reason, _ = await clients.answer(method, probe(dataclasses.replace(t, account=unknown))[0],
                                                   bearer=bearer)
            if (code, reason) != OTHER_COMPANY:
                oracle.append(f"{short(method)} {code} {reason}")
        elif OWN_COMPANY in kinds and probe is not None:
            for request in probe(t):
                code, _, reply = await clients.answer(method, request, bearer=bearer)
                companies = cofor_roots(reply) if reply else set()
                tally.expect(f"{short(method)} by {attacker.root}'s ASL", (code, companies), ("OK", {attacker.root}))


async def console_gateway(stack: Stack, attacker: Company, victim: Company, tally: Tally) -> None:
    """The same through the gateway: every JSON route that takes an account identifier (from /openapi.json), and
    the console pages' one-click actions (refused: the page again with the error; a redirect would mean done)."""
    spec = (await stack.web.get("/openapi.json")).json()
    browser = attacker.asl.browser
    for path, operations in spec["paths"].items():
        for verb, operation in operations.items():
            where = {p["name"]: p["in"] for p in operation.get("parameters", [])}.get("identifier")
            if where not in ("path", "query"):
                continue
            body = {"json": {"job_title": "changed by a probe", "update_mask": ["job_title"]}} \
                if verb == "patch" else {}
            for account in victim.accounts:
                for action in CONSOLE_ACTIONS if "{action}" in path else [""]:
                    url = path.replace("{identifier}", account).replace("{action}", action) if where == "path" \
                        else f"{path}?identifier={account}"
                    reply = await browser.send(verb.upper(), url, **body)
                    tally.expect(f"{verb.upper()} {url}", (reply.status_code, reply.json()["error"]["reason"]
                                                           if reply.status_code >= 400 else ""),
                                 (403, "OTHER_COMPANY_ACCOUNT"))
    for account in victim.accounts:
        for action in CONSOLE_ACTIONS:  # confirmed, as an attacker skipping the confirmation page would send it
            reply = await browser.post(f"/en/admin/users/{account}/{action}", data={"confirmed": "yes"})
            tally.expect(f"page {action} on {account}", reply.status_code, 400)
        for verb, form in (("GET", {}), ("POST", {"data": {"given_name": "Probe", "family_name": "Probe",
                                                           "email": "probe@probe.example"}})):
            reply = await browser.send(verb, f"/en/admin/users/{account}/edit", **form)  # not shown, not changed
            tally.expect(f"page {verb} edit on {account}", reply.status_code, 404)


async def privileged(clients: Clients, attacker: Company, t: Targets, tally: Tally, anonymous: Tally) -> None:
    """Privileged RPCs with every wrong caller; every other RPC without a credential."""
    pool = descriptor_pool.Default()
    for method, (kinds, probe) in METHODS.items():
        if kinds & PRIVILEGED and PUBLIC not in kinds and probe is not None:
            for request in probe(t):
                for who, credential, session, wanted in PRIVILEGED_CALLERS:
                    code, _, _ = await clients.answer(method, request, as_=credential,
                                                      bearer=attacker.session(session) if session else "")
                    tally.expect(f"{short(method)} with {who}", code, wanted)
                admitted = set().union(*(ROLES_ADMITTED.get(kind, set()) for kind in kinds))
                for credential, role in SINGLE_ROLE_CALLERS.items():
                    if role not in admitted:  # e.g. purchasing's credential on the help desk's RPCs
                        code, _, _ = await clients.answer(method, request, as_=credential)
                        tally.expect(f"{short(method)} with the {role} credential", code, "PERMISSION_DENIED")
            continue
        request = probe(t)[0] if probe is not None else GetMessageClass(pool.FindMethodByName(method).input_type)()
        for who, credential, _, wanted in PRIVILEGED_CALLERS[:2]:
            code, _, _ = await clients.answer(method, request, as_=credential)
            anonymous.expect(f"{short(method)} with {who}", code, wanted)
