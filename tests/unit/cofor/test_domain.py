"""Pure rules of the registry: COFOR formats, D-U-N-S, analysis order, state changes, who an access request
goes to, what supersedes, lapses, declines and resets it."""
from __future__ import annotations

import datetime as dt

import pytest

from kit.errors import FailedPrecondition

from cofor.domain.access import (
    REVIEW_LIFETIME,
    TERMS_LINK_LIFETIME,
    AccessRequest,
    AccessState,
    RequestStatus,
    SuspensionCause,
)
from cofor.domain.analysis import Outcome, analyze, parse_analysis_input
from cofor.domain.codes import MalformedCofor, normalize_duns, parse_cofor, random_root, site_codes
from cofor.domain.model import Site, Supplier, SupplierStatus
from cofor.domain.presentations import Presentation, PresentationState

NOW = dt.datetime(2026, 11, 26, tzinfo=dt.UTC)


@pytest.mark.parametrize("text,root,site", [
    ("12345A", "12345A", None), ("12345a", "12345A", None), (" 12345A ", "12345A", None),
    ("12345A01", "12345A", "01"), ("12345A  01", "12345A", "01"), ("12345a 0b", "12345A", "0B"),
])
def test_every_accepted_cofor_form(text: str, root: str, site: str | None) -> None:
    parsed = parse_cofor(text)
    assert (parsed.root, parsed.site) == (root, site)
    assert parsed.canonical("01") == f"{root}  {site or '01'}"


@pytest.mark.parametrize("text", ["", "12345", "12345A0", "12345A  001", "12345-A", "ÉÉÉÉÉÉ", "12345A\n01"])
def test_malformed_cofors(text: str) -> None:
    with pytest.raises(MalformedCofor):
        parse_cofor(text)


def test_duns_and_allocation_rules() -> None:
    assert normalize_duns("12-345-6789") == "123456789" == normalize_duns(" 123 456 789 ")
    for bad in ("12345678", "1234567890", "12a456789"):
        with pytest.raises(ValueError):
            normalize_duns(bad)
    roots = {random_root() for _ in range(200)}
    assert len(roots) > 190 and all(len(r) == 6 for r in roots)
    codes = site_codes()
    assert codes[:2] == ["02", "03"] and "01" not in codes and len(codes) == len(set(codes)) == 36 * 36 - 2


def supplier(**changes: object) -> Supplier:
    s = Supplier(cofor_root="12345A", legal_name="Acme", duns="123456789", country_code="FR", presentation_id="p",
                 created_at=NOW, updated_at=NOW,
                 sites=[Site("12345A", "01", "HQ", True, NOW), Site("12345A", "02", "Plant", False, NOW)])
    for k, v in changes.items():
        setattr(s, k, v)
    return s


def test_analysis_checks_in_the_documented_order() -> None:
    deactivated_open = supplier(status=SupplierStatus.DEACTIVATED, access_state=AccessState.OPEN)
    assert analyze(parse_analysis_input("12345A", "02"), deactivated_open, NOW).outcome == Outcome.SUPPLIER_DEACTIVATED
    assert analyze(parse_analysis_input("12345A", "03"), deactivated_open, NOW).outcome == Outcome.INVALID_COFOR
    assert analyze(parse_analysis_input("12345A", "02"), supplier(access_state=AccessState.OPEN), NOW).outcome == \
        Outcome.SITE_NOT_ELIGIBLE
    assert analyze(parse_analysis_input("12345A01", "02"), supplier(), NOW).outcome == Outcome.INVALID_COFOR
    assert analyze(parse_analysis_input("12345A", ""), None, NOW).outcome == Outcome.INVALID_COFOR
    expected = {AccessState.NOT_REQUESTED: Outcome.ACCESS_NOT_REQUESTED, AccessState.TERMS_PENDING:
                Outcome.TERMS_PENDING, AccessState.ADMINISTRATOR_PENDING: Outcome.ADMINISTRATOR_PENDING,
                AccessState.SUSPENDED: Outcome.ACCESS_SUSPENDED, AccessState.OPEN: Outcome.ACCESS_OPEN,
                AccessState.UNDER_REVIEW: Outcome.ACCESS_REQUEST_UNDER_REVIEW}
    for state, outcome in expected.items():
        result = analyze(parse_analysis_input("12345A", ""), supplier(
            access_state=state, administrators=[{"identifier": "V1", "display_name": "Ann Lee"}],
            terms_expires_at=NOW + dt.timedelta(days=1) if state == AccessState.TERMS_PENDING else None,
            review_expires_at=NOW + dt.timedelta(days=1) if state == AccessState.UNDER_REVIEW else None), NOW)
        assert result.outcome == outcome
        assert result.administrator_names == (["Ann Lee"] if outcome == Outcome.ACCESS_OPEN else [])


def presentation(**changes: object) -> Presentation:
    p = Presentation(id="p", duns="123456789", email="a@b.example", language="fr", legal_name="Acme",
                     presenter_token_digest=b"x", created_at=NOW, updated_at=NOW)
    for k, v in changes.items():
        setattr(p, k, v)
    return p


def test_presentation_state_machine() -> None:
    p = presentation()
    p.confirm(NOW)
    assert p.duns_claim == "123456789"
    with pytest.raises(FailedPrecondition) as err:
        p.submit(NOW)
    assert err.value.reason == "PRESENTATION_INCOMPLETE" and len(err.value.violations) == 12
    p.update({"national_registration_number": "n", "tax_number": "t", "address_lines": ["1 rue"], "postal_code": "1",
              "city": "c", "address_country": "FR", "country_code": "FR", "legal_existence_proof_ref": "r",
              "legal_representative.given_name": "Ann", "legal_representative.family_name": "Lee",
              "legal_representative.email": "ann@acme.example", "legal_representative.job_title": "CEO"}, NOW)
    assert p.representative["email"] == "ann@acme.example"
    assert p.submit(NOW) and not p.submit(NOW)
    with pytest.raises(FailedPrecondition):
        p.update({"tax_number": "u"}, NOW)
    p.reference("12345A", NOW)
    with pytest.raises(FailedPrecondition):
        p.reject("late", NOW)
    assert p.duns_claim == "123456789"  # a referenced file keeps its D-U-N-S


def test_a_head_office_needs_a_postal_code_unless_its_country_has_none() -> None:
    in_france, in_hong_kong = presentation(address_country="FR"), presentation(address_country="HK")
    assert "head_office_address.postal_code" in in_france.missing_fields()
    assert "head_office_address.postal_code" not in in_hong_kong.missing_fields()
    assert "head_office_address.city" in in_hong_kong.missing_fields()


def test_unconfirmed_and_idle_drafts_lapse_and_free_their_duns() -> None:
    unconfirmed = presentation()
    assert unconfirmed.expires_at() == NOW + dt.timedelta(hours=24) and not unconfirmed.is_due(NOW)
    assert unconfirmed.is_due(NOW + dt.timedelta(hours=24))
    idle = presentation()
    idle.confirm(NOW)
    idle.update({"tax_number": "t"}, NOW + dt.timedelta(days=10))  # a change restarts the 30 days
    assert not idle.is_due(NOW + dt.timedelta(days=39)) and idle.is_due(NOW + dt.timedelta(days=40))
    idle.expire(NOW + dt.timedelta(days=40))
    assert idle.state == PresentationState.EXPIRED and idle.duns_claim is None and idle.expires_at() is None
    squatted = presentation()
    squatted.confirm(NOW)
    squatted.reject("not the company", NOW)  # purchasing rejects a draft that squats a D-U-N-S
    assert squatted.state == PresentationState.REJECTED and squatted.duns_claim is None


def request(signatory_email: str, request_id: str = "r1") -> AccessRequest:
    person = {"given_name": "Eve", "family_name": "M", "email": signatory_email, "phone": "+33123456789",
              "job_title": "CEO", "language": "en"}
    return AccessRequest(id=request_id, cofor_root="12345A", signatory=person, administrator=dict(person),
                         terms_version="2026-01", created_at=NOW)


RECORD = {"given_name": "Ann", "family_name": "Lee", "email": "Ann.Lee@acme.example", "phone": "+33123456789",
          "job_title": "CEO", "language": "fr"}


def test_a_request_goes_to_the_signatory_of_record_only() -> None:
    s = supplier(signatory=dict(RECORD))
    matching = request(" ann.lee@ACME.example ")
    s.request_access(matching, [], NOW)
    assert s.access_state == AccessState.TERMS_PENDING and matching.status == RequestStatus.TERMS_PENDING
    assert matching.signatory == RECORD  # the link goes to the recorded contact, not to what was typed
    assert s.terms_expires_at == matching.expires_at == NOW + TERMS_LINK_LIFETIME
    budget_spent = request(RECORD["email"], "r0")
    s.request_access(budget_spent, [matching], NOW, may_mail_signatory=False)
    assert budget_spent.status == RequestStatus.UNDER_REVIEW  # past the mail budget: purchasing decides
    no_record = supplier()
    first = request("ann.lee@acme.example")
    no_record.request_access(first, [], NOW)  # without a signatory of record, purchasing reviews
    assert first.status == RequestStatus.UNDER_REVIEW and no_record.review_expires_at == NOW + REVIEW_LIFETIME
    assert no_record.access_state == AccessState.UNDER_REVIEW


def test_a_strangers_request_never_voids_or_blocks_the_companys() -> None:
    s = supplier(signatory=dict(RECORD))
    company = request(RECORD["email"], "company")
    s.request_access(company, [], NOW)
    stranger = request("eve@attacker.example", "stranger")
    s.request_access(stranger, [company], NOW)  # joins; the company's link stays out
    assert company.status == RequestStatus.TERMS_PENDING and stranger.status == RequestStatus.UNDER_REVIEW
    assert s.access_state == AccessState.TERMS_PENDING
    eve_as_asl = request(RECORD["email"], "eve-asl")
    s.request_access(eve_as_asl, [company, stranger], NOW)  # the record gets a second link, naming eve
    closed = s.accept_terms(company, [company, stranger, eve_as_asl], NOW)  # the signatory accepts the right one
    assert company.status == RequestStatus.ACCEPTED and s.access_state == AccessState.ADMINISTRATOR_PENDING
    assert {r.id for r in closed} == {"stranger", "eve-asl"}
    assert {r.status for r in closed} == {RequestStatus.SUPERSEDED}


def test_who_may_request_access() -> None:
    for state, admins, allowed in ((AccessState.NOT_REQUESTED, [], True), (AccessState.UNDER_REVIEW, [], True),
                                   (AccessState.TERMS_PENDING, [], True),
                                   (AccessState.ADMINISTRATOR_PENDING, [], False),
                                   (AccessState.OPEN, [{"identifier": "V1"}], False),
                                   (AccessState.SUSPENDED, [{"identifier": "V1"}], False),
                                   (AccessState.SUSPENDED, [], True)):
        s = supplier(access_state=state, administrators=admins, terms_expires_at=NOW + dt.timedelta(days=1),
                     review_expires_at=NOW + dt.timedelta(days=1))
        assert s.can_request_access(NOW) is allowed, state
        if not allowed:
            with pytest.raises(FailedPrecondition):
                s.request_access(request("x@y.example"), [], NOW)
    with pytest.raises(FailedPrecondition):
        supplier(status=SupplierStatus.DEACTIVATED).request_access(request("x@y.example"), [], NOW)


def test_review_decline_lapse_and_reset() -> None:
    s = supplier(access_state=AccessState.SUSPENDED)  # no ASL left: the company may ask again
    r = request("eve@attacker.example")
    s.request_access(r, [], NOW)
    with pytest.raises(FailedPrecondition):
        s.approve(request("x@y.example", "other"), [r], RECORD, None, "buyer", "", NOW)  # only a waiting one
    s.decline(r, [r], "buyer", "unknown person", NOW)
    assert r.status == RequestStatus.DECLINED and r.reviewed_by == "buyer" and r.decision_reason == "unknown person"
    assert s.access_state == AccessState.SUSPENDED  # back to where it was before the request
    r2 = request("eve@attacker.example", "r2")
    s.request_access(r2, [], NOW)
    nominee = {**RECORD, "given_name": "Paul", "email": "paul@acme.example"}
    s.approve(r2, [r2], dict(RECORD), nominee, "buyer", "checked on the register", NOW)
    assert s.signatory == RECORD and r2.signatory == RECORD and s.access_state == AccessState.TERMS_PENDING
    assert r2.administrator == nominee  # purchasing may correct the nominee
    later = NOW + TERMS_LINK_LIFETIME
    assert s.access_state_at(later) == AccessState.SUSPENDED  # unanswered: it counts as never filed
    assert s.lapse([r2], later) == [r2] and r2.status == RequestStatus.EXPIRED
    assert s.access_state == AccessState.SUSPENDED
    r3 = request(RECORD["email"], "r3")
    s.request_access(r3, [], later)
    s.accept_terms(r3, [r3], later)
    s.administrator_created(later)
    s.reset_access([r3], "rogue ASL", "buyer", later)
    assert s.access_state == AccessState.NOT_REQUESTED and r3.status == RequestStatus.RESET


def test_partial_lapse_keeps_what_still_waits() -> None:
    s = supplier(signatory=dict(RECORD))
    link = request(RECORD["email"], "link")
    s.request_access(link, [], NOW)
    review = request("x@y.example", "review")
    s.request_access(review, [link], NOW)
    later = NOW + TERMS_LINK_LIFETIME
    assert s.access_state_at(later) == AccessState.UNDER_REVIEW  # the link lapsed, the review still waits
    assert s.lapse([link, review], later) == [link] and s.access_state == AccessState.UNDER_REVIEW


def test_a_new_signatory_of_record_sends_links_to_others_back_to_review() -> None:
    s = supplier(signatory=dict(RECORD))
    r = request(RECORD["email"])
    s.request_access(r, [], NOW)
    assert s.record_signatory({**RECORD, "phone": "+33999999999"}, NOW, [r]) == []  # same address: link stands
    assert s.record_signatory({**RECORD, "email": "new@acme.example"}, NOW, [r]) == [r]
    assert s.access_state == AccessState.UNDER_REVIEW and r.status == RequestStatus.UNDER_REVIEW


def test_administrator_snapshots_apply_in_revision_order() -> None:
    s = supplier(access_state=AccessState.OPEN)
    assert s.administrators_changed([{"identifier": "V1", "display_name": "A"}], 2, NOW) is None
    assert s.administrators_changed([], 1, NOW) is None and s.access_state == AccessState.OPEN  # stale
    assert s.administrators_changed([], 3, NOW) == "suspended"
    assert s.suspension_cause == SuspensionCause.NO_ACTIVE_ADMINISTRATOR and s.can_request_access(NOW)
