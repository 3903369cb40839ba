"""The mail server down for the first half of a run: every requested mail arrives exactly once after it returns,
sealed secrets included (the quick sample of ``python -m hardening smtp_outage``; its timings are printed there)."""
from __future__ import annotations

import pytest

from bench.report import Report
from hardening import smtp_outage


@pytest.mark.timeout(240)
async def test_an_smtp_outage_delays_mails_but_loses_and_duplicates_none() -> None:
    report = Report("smtp_outage", prefix="HARDEN", folder="hardening")
    await smtp_outage.run(report, quick=True)
    figures = {str(f["name"]): f["value"] for f in report.figures}
    requested = figures["smtp_outage_mails_requested"]
    assert requested >= smtp_outage.QUICK_MAILS, figures
    assert figures["smtp_outage_mails_delivered"] == requested, figures
    for name in ("lost", "duplicated", "unexpected", "without_secret", "requests_failed"):
        assert figures[f"smtp_outage_{name}"] == 0, (name, figures)
