"""Pure rules of the registry: COFOR formats, D-U-N-S, analysis order, state changes."""
from __future__ import annotations

import datetime as dt

import pytest

from kit.errors import FailedPrecondition

from cofor.domain.analysis import Outcome, analyze, parse_analysis_input
from cofor.domain.codes import MalformedCofor, normalize_duns, parse_cofor, random_root, site_codes
from cofor.domain.model import AccessState, Presentation, Site, Supplier, SupplierStatus, SuspensionCause

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
    assert analyze(parse_analysis_input("12345A", "02"), deactivated_open).outcome == Outcome.SUPPLIER_DEACTIVATED
    assert analyze(parse_analysis_input("12345A", "03"), deactivated_open).outcome == Outcome.INVALID_COFOR
    assert analyze(parse_analysis_input("12345A", "02"), supplier(access_state=AccessState.OPEN)).outcome == \
        Outcome.SITE_NOT_ELIGIBLE
    assert analyze(parse_analysis_input("12345A01", "02"), supplier()).outcome == Outcome.INVALID_COFOR
    assert analyze(parse_analysis_input("12345A", ""), None).outcome == Outcome.INVALID_COFOR
    expected = {AccessState.NOT_REQUESTED: Outcome.ACCESS_NOT_REQUESTED, AccessState.TERMS_PENDING:
                Outcome.TERMS_PENDING, AccessState.ADMINISTRATOR_PENDING: Outcome.ADMINISTRATOR_PENDING,
                AccessState.SUSPENDED: Outcome.ACCESS_SUSPENDED, AccessState.OPEN: Outcome.ACCESS_OPEN}
    for state, outcome in expected.items():
        result = analyze(parse_analysis_input("12345A", ""), supplier(access_state=state, administrators=[
            {"identifier": "V1", "display_name": "Ann Lee"}]))
        assert result.outcome == outcome
        assert result.administrator_names == (["Ann Lee"] if outcome == Outcome.ACCESS_OPEN else [])


def test_presentation_state_machine() -> None:
    p = Presentation(id="p", duns="123456789", email="a@b.example", language="fr", legal_name="Acme",
                     presenter_token_digest=b"x", created_at=NOW, updated_at=NOW)
    with pytest.raises(FailedPrecondition) as err:
        p.submit(NOW)
    assert err.value.reason == "PRESENTATION_INCOMPLETE" and len(err.value.violations) == 8
    p.update(dict(national_registration_number="n", tax_number="t", address_lines=["1 rue"], postal_code="1",
                  city="c", address_country="FR", country_code="FR", legal_existence_proof_ref="r"), NOW)
    assert p.submit(NOW) and not p.submit(NOW)
    with pytest.raises(FailedPrecondition):
        p.update({"tax_number": "u"}, NOW)
    p.reference("12345A", NOW)
    with pytest.raises(FailedPrecondition):
        p.reject("late", NOW)


def test_administrator_snapshots_apply_in_revision_order() -> None:
    s = supplier(access_state=AccessState.OPEN)
    assert s.administrators_changed([{"identifier": "V1", "display_name": "A"}], 2, NOW) is None
    assert s.administrators_changed([], 1, NOW) is None and s.access_state == AccessState.OPEN  # stale
    assert s.administrators_changed([], 3, NOW) == "suspended"
    assert s.suspension_cause == SuspensionCause.NO_ACTIVE_ADMINISTRATOR and s.can_request_access()
