"""The one contact rule (kit.validation.contact_violations), as cofor applies it and as a partial update does."""
from __future__ import annotations

from kit.errors import Violations
from kit.validation import contact_violations

GOOD = {"given_name": "Marie", "family_name": "Curie", "job_title": "Buyer", "email": "marie@example.com",
        "phone": "+33 1 23 45 67 89", "language": "fr"}


def paths(values: dict[str, str], prefix: str = "signatory", **rules: bool) -> list[str]:
    v = Violations()
    contact_violations(v, prefix, values, **rules)
    return [item.field for item in v.items]


def test_a_complete_contact_passes() -> None:
    assert paths(GOOD) == []


def test_every_field_is_named_under_the_prefix_in_order() -> None:
    bad = {"given_name": "", "family_name": "x" * 101, "job_title": "", "email": "no", "phone": "", "language": "de"}
    assert paths(bad) == [f"signatory.{n}" for n in ("given_name", "family_name", "job_title", "email", "phone",
                                                     "language")]


def test_names_are_not_links_unless_allowed() -> None:
    linked = {**GOOD, "family_name": "www.example.com"}
    assert paths(linked) == ["signatory.family_name"]
    assert paths(linked, links_allowed=True) == []


def test_a_partial_update_checks_only_what_it_changes_with_optional_phone_and_title() -> None:
    assert paths({"job_title": "", "phone": ""}, "", phone_required=False, job_title_required=False) == []
    assert paths({"email": "bad"}, "account") == ["account.email"]
