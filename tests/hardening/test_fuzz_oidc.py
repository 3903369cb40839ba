"""Generated requests to every OpenID Connect endpoint of the gateway: no 5xx, the provider still serving (the quick,
derandomized sample of ``python -m hardening fuzz_oidc``)."""
from __future__ import annotations

import pytest

from bench.report import Report
from hardening import fuzz_oidc


@pytest.mark.timeout(300)
async def test_generated_oidc_requests_never_answer_5xx() -> None:
    report = Report("fuzz_oidc", prefix="HARDEN", folder="hardening")
    await fuzz_oidc.run(report, quick=True)
    figures = {str(f["name"]): f for f in report.figures}
    assert figures["fuzz_oidc_endpoints_covered"]["value"] == len(fuzz_oidc.ENDPOINTS)
    assert figures["fuzz_oidc_requests"]["value"] >= 200, figures["fuzz_oidc_requests"]["note"]
    assert figures["fuzz_oidc_5xx"]["value"] == 0, figures["fuzz_oidc_5xx"]["note"]
    assert figures["fuzz_oidc_provider_serving_at_end"]["value"] == 1
