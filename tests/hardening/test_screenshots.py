"""A flood of the biggest screenshots never stalls the support service (the quick sample of ``python -m hardening
screenshots``; its help-page latencies are printed there, not asserted here): no decode ever runs on the event loop,
one client address gets at most its hourly limit decoded, a flood from many addresses is refused at once past the
decoders and their queue, and nothing answers anything else."""
from __future__ import annotations

import pytest

from bench.report import Report
from hardening import screenshots


@pytest.mark.timeout(240)
async def test_a_screenshot_flood_is_decoded_off_the_loop_within_limits_and_refused_past_them() -> None:
    report = Report("screenshots", prefix="HARDEN", folder="hardening")
    await screenshots.run(report, quick=True)
    figures = {str(f["name"]): f["value"] for f in report.figures}
    assert figures["screenshots_decodes_on_event_loop"] == 0 and figures["screenshots_decodes_in_workers"] > 0, figures
    assert figures["screenshots_one_client_decoded"] <= 20, figures
    assert figures["screenshots_many_clients_refused_busy"] > 0, figures
    for name in ("one_client", "many_clients"):
        assert figures[f"screenshots_{name}_unexpected_outcomes"] == 0, (name, figures)
