"""Secrets: after the whole life of a supplier through the real system (gateway, three services, NATS, SMTP sink),
no password, reset password, acceptance link, presenter link, session or CSRF token it used is found in any
database file, table, log line, NATS message or JetStream stream — as such or in a common encoding.

The scenario: a company file (presenter token), purchasing references it, access requested, the GTU link asked
again (the first one voided) and accepted, the ASL's first login with the mailed temporary password and its change,
the ASL creates a user (temporary password), the user's first login, five wrong passwords lock the user out, the
ASL unlocks, the ASL resets the user's password (mailed reset password), the ASL forgets its own and uses the
self-service reset (mailed reset password), identifier recovery, "contact my ASL", a Help & Contact ticket, both log
out. Every service and the gateway log at DEBUG (libraries included) into one file meanwhile.

Tracked: every secret the visitors typed or received (their browsers record cookies and typed fields; the journeys
name what they took from mails). CSRF tokens too: the gateway only compares cookie and header, no service ever
needs them, so finding one stored would mean requests are being recorded. Scanned: each service's SQLite file with
its -wal and -shm (raw bytes, while running and after shutdown), every row of every table (the mail spool included),
the log file (raw and each record decoded), every message of every JetStream stream read back (subject, headers,
payload), every message NATS carried (a ``>`` subscription, session-revocation broadcasts included), the NATS store
files and server log. Encodings: as typed (UTF-8), UTF-16-LE, NFKC, URL-encoded, JSON-escaped, Python bytes repr,
octal escapes (protobuf text format), hex, base64 and base64url at the three alignments; for passwords also unsalted
MD5/SHA-1/SHA-256 (raw and hex), which would be as bad as the password itself. Session and link tokens are stored as
their SHA-256 digests by design, so those digests are not looked for. The mails at the SMTP sink necessarily hold the
mailed secrets: the sink is the delivery channel, not storage (its own server log is left out too); it serves as a
check that the tracked secrets are the real ones. Controls must be found, or the scan proves nothing: one typed into
a ticket (stored by design: found in support's database) and one logged in each encoding.

- secrets_scenario.py: the scenario, the ledger of its secrets, the recording of logs and NATS traffic;
- secrets_places.py: where to look, while running and after shutdown;
- secrets_scan.py: the encodings looked for."""
from __future__ import annotations

import secrets
import tempfile
from pathlib import Path

from bench.report import Report
from hardening.secrets_places import stored_after
from hardening.secrets_scan import CONTROLS, scan
from hardening.secrets_scenario import Ledger, observed_scenario
from testing.fleet import nats_users
from testing.processes import NatsServer

KINDS = ("temporary_password", "chosen_password", "reset_password", "wrong_password", "presenter_token",
         "acceptance_token", "activation_token", "session_token", "csrf_token")
MAILED = {"temporary_password", "reset_password", "presenter_token", "acceptance_token", "activation_token"}


def control() -> str:
    return f"contrôle {secrets.token_urlsafe(12)}"


async def run(report: Report, *, quick: bool = False) -> None:
    """The scenario is small: the quick run (inside make test) is the full one."""
    ledger = Ledger()
    controls = {control(): how for how in ["typed into a ticket", *CONTROLS]}
    with tempfile.TemporaryDirectory() as name:
        tmp = Path(name)
        server = NatsServer(tmp / "nats", log_file=tmp / "nats-server.log", users=nats_users()).start()
        try:
            places, mails = await observed_scenario(tmp, server, ledger, controls)
        finally:
            server.stop()
        places |= stored_after(tmp)

    findings = scan(places, ledger.kinds)
    expected = {how: ("log file",) if how in CONTROLS else ("support.sqlite3", "support table tickets")
                for how in controls.values()}
    found_controls = [how for secret, how in controls.items()
                      if all(any(place in where for _, where in scan(places, {secret: "control"}))
                             for place in expected[how])]
    mailed = {s: k for s, k in ledger.kinds.items() if k in MAILED}
    in_mails = [s for s in mailed if scan({"mails": mails}, {s: mailed[s]})]
    report.add("secrets_tracked", len(ledger.kinds), "secrets", "> 0",
               ", ".join(f"{kind} {ledger.count(kind)}" for kind in KINDS))
    files = sorted({place.split(" (")[0] for place in places if ".sqlite3" in place})
    tables = [place for place in places if " table " in place]
    others = sorted(place for place in places if ".sqlite3" not in place and " table " not in place)
    report.add("secrets_places_scanned", len(places), "places", "> 0",
               f"{sum(map(len, places.values())) // 1024} KiB: database files {', '.join(files)} (while running, "
               f"mains again after shutdown); {len(tables)} tables (support's mail_spool included); "
               + ", ".join(others))
    report.add("secrets_found", len({secret for secret, _ in findings}), "secrets", "0",
               "; ".join(where for _, where in findings[:8]))
    report.add("secrets_controls_found", len(found_controls), "controls", f"= {len(controls)}",
               "found: " + ", ".join(found_controls))
    report.add("secrets_mailed_found_in_mails", len(in_mails), "secrets", f"= {len(mailed)}",
               "the sink is the delivery channel, not storage: this only proves the tracked secrets are the real ones")
