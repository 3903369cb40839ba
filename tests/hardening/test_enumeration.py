"""Login and the recovery forms answer an existing, an unknown and a blocked account identically, and RequestAccount
every kind of COFOR (the quick sample of ``python -m hardening enumeration``; the timing spreads are printed there,
not asserted here)."""
from __future__ import annotations

import pytest

from bench.report import Report
from hardening import enumeration


@pytest.mark.timeout(240)
async def test_login_and_recovery_forms_answer_every_kind_of_account_identically() -> None:
    report = Report("enumeration", prefix="HARDEN", folder="hardening")
    await enumeration.run(report, quick=True)
    identical = {f["name"]: f["value"] for f in report.figures if str(f["name"]).endswith("_identical_answers")}
    assert set(identical) == {f"enumeration_{form}_identical_answers" for form in
                              ("login", "recover_identifier", "reset_administrator_password", "contact_administrator",
                               "request_account")}
    assert all(value == 1.0 for value in identical.values()), identical
