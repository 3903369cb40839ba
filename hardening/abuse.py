"""Abuse: the adversarial review of 2026-11-28 as a suite that keeps its cases and grows. Each public flow driven as
an outsider (takeover, squatting, locking others out, relaying text to third parties), hostile text in every field,
forged events on NATS, the company's administrators raced on PostgreSQL. What an attacker may never achieve is a
figure with target 0.

- abuse_outsider.py: through the gateway, someone who knows a COFOR, a D-U-N-S, an identifier or an e-mail;
- abuse_inputs.py: control characters, line separators, bidi overrides, folding names and invalid UTF-8 in every
  field that can reach a mail, a header or a log; a poison mail among ordinary ones;
- abuse_platform.py: NATS without credentials or with another service's; concurrent revoke/disable on PostgreSQL.
"""
from __future__ import annotations

import tempfile
from pathlib import Path

from bench.report import Report
from hardening.abuse_inputs import run_inputs
from hardening.abuse_outsider import run_outsider
from hardening.abuse_platform import run_platform
from testing.fleet import nats_users
from testing.processes import NatsServer
from tests.e2e.stack import running_stack


async def run(report: Report, *, quick: bool = False) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        server = NatsServer(Path(tmp) / "nats", users=nats_users()).start()
        try:
            # Behind one trusted proxy, as deployed: each visitor is its own client, as on the Internet.
            async with running_stack(Path(tmp), server, trusted_proxies=1) as stack:
                await run_outsider(report, stack, quick=quick)
                producer = await server.connect("cofor")  # a producer's credential may request any mail
                try:
                    await run_inputs(report, stack, producer, quick=quick)
                finally:
                    await producer.close()
                await run_platform(report, stack, server, quick=quick)
        finally:
            server.stop()
