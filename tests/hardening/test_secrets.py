"""No secret the whole scenario used is found in any database, log, NATS message or stream, in any common encoding
(``python -m hardening secrets``: the scenario is small, so this is the full run)."""
from __future__ import annotations

import pytest

from bench.report import Report
from hardening import secrets


@pytest.mark.timeout(240)
async def test_no_secret_of_the_scenario_is_stored_logged_or_published() -> None:
    report = Report("secrets", prefix="HARDEN", folder="hardening")
    await secrets.run(report, quick=True)
    figures = {str(f["name"]): f for f in report.figures}
    # secrets_found is 0, every planted control was found, every mailed secret is in the mails it was sent in
    assert report.missed() == [], [f for f in report.figures if f["met"] is False]
    tracked = dict(item.rsplit(" ", 1) for item in str(figures["secrets_tracked"]["note"]).split(", "))
    assert set(tracked) == set(secrets.KINDS) and all(int(n) >= 1 for n in tracked.values()), tracked
    assert int(tracked["reset_password"]) == 2 and int(tracked["acceptance_token"]) == 2  # each recovery flow
    places = str(figures["secrets_places_scanned"]["note"])
    for place in ("identity.sqlite3-wal", "support.sqlite3-shm", "mail_spool", "stream NOTIFICATION", "NATS traffic",
                  "log file", "NATS store"):
        assert place in places
    assert figures["secrets_controls_found"]["value"] == 7 and figures["secrets_mailed_found_in_mails"]["value"] >= 7
