"""The chaos suite's quick run inside ``make test``: NATS and a service killed with SIGKILL mid-load and restarted;
no committed change may lose or duplicate its effect, and no operation may fail (retries carry the same request)."""
from __future__ import annotations

import pytest

from bench.report import Figure, Report
from hardening import chaos


@pytest.mark.timeout(300)
async def test_kill_nine_mid_load_loses_and_duplicates_nothing_on_either_database() -> None:
    report = Report("chaos", prefix="HARDEN", folder="hardening")
    await chaos.run(report, quick=True)
    figures = {f["name"]: f for f in report.figures}
    for database in chaos.DATABASES:
        def figure(name: str, database: str = database) -> Figure:
            return figures[f"chaos_{database}_{name}"]
        for name in ("lost_effects", "duplicated_effects", "failed_operations"):
            assert figure(name)["value"] == 0, (database, name, figure(name)["note"])
        kills = figure("kills")
        victims = {k.split("@")[0] for k in str(kills["note"]).split(": ", 1)[1].split(", ")}
        assert kills["value"] >= 2 and "nats" in victims and victims & {"cofor", "identity", "support"}, kills["note"]
        # A mailer crash may hand the mails it had in flight to SMTP again (same Message-ID), never more.
        redelivered = figure("redelivered_mails")
        assert redelivered["value"] <= float(str(redelivered["target"]).removeprefix("<= ")), redelivered["note"]
        assert figure("operations")["value"] >= chaos.QUICK_OPERATIONS
