"""The abuse suite's quick sample (``python -m hardening --quick abuse``): every figure of what an attacker may never
achieve is 0 — companies taken over, D-U-N-S kept from their company, files swapped, holders locked out, hostile text
accepted, recipients injected, text relayed, mails delayed by a poison, forged events acted on, streams read, ASL-less
companies after the PostgreSQL race."""
from __future__ import annotations

import pytest

from bench.report import Report
from hardening import abuse


@pytest.mark.timeout(600)
async def test_no_abuse_of_the_review_gets_through() -> None:
    report = Report("abuse", prefix="HARDEN", folder="hardening")
    await abuse.run(report, quick=True)
    figures = {str(f["name"]): f for f in report.figures}
    assert report.missed() == [], [f for f in report.figures if f["met"] is False]
    for name in ("abuse_companies_taken_over", "abuse_company_links_voided_by_strangers",
                 "abuse_company_requests_refused_after_strangers", "abuse_duns_blocked_by_unconfirmed_files",
                 "abuse_duns_blocked_after_purchasing_rejected", "abuse_file_swapped_by_crafted_link",
                 "abuse_stranger_caused_lockouts", "abuse_hostile_text_accepted", "abuse_injected_recipients",
                 "abuse_requester_text_relayed", "abuse_mails_delayed_by_poison",
                 "abuse_undecodable_not_invalid_argument",
                 "abuse_nats_admitted_without_credential", "abuse_forged_events_acted_on", "abuse_foreign_streams_read",
                 "abuse_asl_less_companies_after_race", "abuse_race_internal_errors"):
        assert figures[name]["value"] == 0, (name, figures[name])
    assert figures["abuse_outsider_attempts"]["value"] > 0 and figures["abuse_hostile_text_tries"]["value"] > 100
