"""No ASL reaches another company's accounts, no caller without the right service credential reaches a purchasing,
internal, agent or support-staff call, and every RPC is classified (the quick sample of
``python -m hardening isolation``: one direction, A against B)."""
from __future__ import annotations

import pytest

from bench.report import Report
from hardening import isolation
from hardening.isolation_methods import CONSOLE, METHODS, PRIVILEGED, PRIVILEGED_CALLERS, PUBLIC


@pytest.mark.timeout(240)
async def test_every_console_and_privileged_call_on_someone_elses_data_is_refused() -> None:
    report = Report("isolation", prefix="HARDEN", folder="hardening")
    await isolation.run(report, quick=True)
    figures = {str(f["name"]): f["value"] for f in report.figures}
    assert report.missed() == [], [f for f in report.figures if f["met"] is False]
    console = [kinds for kinds, _ in METHODS.values() if CONSOLE in kinds]
    privileged = [kinds for kinds, _ in METHODS.values()
                  if kinds & PRIVILEGED and PUBLIC not in kinds]
    # Not vacuous: each console RPC on each of the victim's four accounts, each privileged RPC with every caller.
    assert figures["isolation_console_calls_checked"] >= 4 * len(console)
    assert figures["isolation_privileged_calls_checked"] >= len(PRIVILEGED_CALLERS) * len(privileged)
    assert figures["isolation_anonymous_calls_checked"] >= 2 * (len(METHODS) - len(privileged))
