"""Parallel guesses on two identity processes lock an account (and, apart, its second factor) at exactly the
threshold; a replayed code or passkey answer (even 20 at once over both processes) and a reset password never open a
session without the factor; the gateway's per-client
limits let through exactly their configured number of requests (the quick sample of ``python -m hardening
brute_force``, with cheap hashes)."""
from __future__ import annotations

import pytest

from bench.report import Report
from hardening import brute_force


@pytest.mark.timeout(240)
async def test_guesses_lock_at_the_threshold_and_rate_limits_hold_exactly() -> None:
    report = Report("brute_force", prefix="HARDEN", folder="hardening")
    await brute_force.run(report, quick=True)
    figures = {str(f["name"]): f["value"] for f in report.figures}
    configured = brute_force.CONFIGURED
    assert figures["brute_force_guesses"] == brute_force.GUESSES
    assert figures["brute_force_attempts_counted"] == configured.lockout_threshold, figures
    assert figures["brute_force_passwords_checked"] == configured.lockout_threshold, figures
    for name in ("answers_identical", "blocked", "lock_events", "lock_notices", "right_password_after_lock_refused"):
        assert figures[f"brute_force_{name}"] == 1, (name, figures)
    assert figures["factor_codes_checked"] == configured.second_factor_attempts, figures
    for name in ("lock_events", "lock_notices", "right_code_after_lock_refused", "password_count_untouched"):
        assert figures[f"factor_{name}"] == 1, (name, figures)
    assert figures["factor_replays_accepted"] == 0 and figures["factor_reset_password_sessions_without_factor"] == 0
    assert figures["passkey_answers_accepted_at_once"] == 1, figures  # one answer, one session, across replicas
    assert figures["passkey_replays_accepted"] == 0 and figures["passkey_fresh_answer_accepted"] == 1, figures
    limits = {"login": configured.login_limit_per_client_per_minute,
              "login_forged_forwarded_for": configured.login_limit_per_client_per_minute,
              "login_per_identifier": configured.login_limit_per_identifier_per_minute,
              "recover_identifier": configured.recovery_limit_per_client_per_hour,
              "recover_administrator_password": configured.recovery_limit_per_client_per_hour,
              "recover_contact_administrator": configured.recovery_limit_per_client_per_hour,
              "account_request": configured.account_request_limit_per_client_per_hour,
              "gateway": brute_force.GATEWAY_LIMIT}
    assert {form: figures[f"rate_limit_{form}_allowed"] for form in limits} == limits
    assert figures["rate_limit_recovery_per_email_refused"] == 0, figures  # per e-mail: never refuses (§6)
    assert figures["rate_limit_other_client_unaffected"] == 1, figures
    assert figures["rate_limit_retry_after_present"] == 1, figures
    assert figures["rate_limit_unexpected_answers"] == 0, figures
