"""The chaos suite's quick run inside ``make test``: NATS and a service killed with SIGKILL mid-load and restarted;
no committed change may lose or duplicate its effect, and no operation may fail (retries carry the same request)."""
from __future__ import annotations

import pytest

from bench.report import Report
from hardening import chaos


@pytest.mark.timeout(240)
async def test_kill_nine_mid_load_loses_and_duplicates_nothing() -> None:
    report = Report("chaos", prefix="HARDEN", folder="hardening")
    await chaos.run(report, quick=True)
    figures = {f["name"]: f for f in report.figures}
    assert figures["chaos_lost_effects"]["value"] == 0, figures["chaos_lost_effects"]["note"]
    assert figures["chaos_duplicated_effects"]["value"] == 0, figures["chaos_duplicated_effects"]["note"]
    assert figures["chaos_failed_operations"]["value"] == 0, figures["chaos_failed_operations"]["note"]
    kills = figures["chaos_kills"]
    victims = {k.split("@")[0] for k in str(kills["note"]).split(": ", 1)[1].split(", ")}
    assert kills["value"] >= 2 and "nats" in victims and victims & {"cofor", "identity", "support"}, kills["note"]
    # A mailer crash may hand the mails it had in flight to SMTP again (same Message-ID), never more.
    redelivered = figures["chaos_redelivered_mails"]
    assert redelivered["value"] <= float(str(redelivered["target"]).removeprefix("<= ")), redelivered["note"]
    assert figures["chaos_operations"]["value"] >= chaos.QUICK_OPERATIONS
