"""Migration 0004 on a database written by the previous version: suppliers without a signatory of record go through
review, links sent to whoever a requester named are voided, existing files keep their D-U-N-S (both databases)."""
from __future__ import annotations

import datetime as dt

from kit import migrations
from tests.integration.raw_sql import run

from cofor.bootstrap import MIGRATIONS

NOW = dt.datetime(2026, 11, 1, tzinfo=dt.UTC)


def presentation(ident: str, duns: str, state: str) -> tuple[str, dict[str, object]]:
    return ("INSERT INTO presentations (id, duns, email, language, legal_name, presenter_token_digest, state, "
            "national_registration_number, tax_number, address_lines, postal_code, city, address_country, "
            "country_code, legal_existence_proof_ref, rejection_reason, cofor_root, created_at, updated_at) VALUES "
            "(:id, :duns, 'p@x.example', 'fr', 'Acme', :digest, :state, '', '', '[]', '', '', '', '', '', '', '', "
            ":now, :now)", {"id": ident, "duns": duns, "digest": b"d" * 32, "state": state, "now": NOW})


def supplier(root: str, duns: str, state: str, request: str) -> tuple[str, dict[str, object]]:
    return ("INSERT INTO suppliers (cofor_root, legal_name, duns, country_code, presentation_id, status, "
            "status_reason, head_office_site_code, access_state, suspension_cause, access_request_id, "
            "administrators, administrators_revision, revision, created_at, updated_at) VALUES (:root, 'Acme', "
            ":duns, 'FR', 'p', 'ACTIVE', '', '01', :state, '', :request, '[]', 0, 3, :now, :now)",
            {"root": root, "duns": duns, "state": state, "request": request, "now": NOW})


def request(ident: str, root: str, accepted: dt.datetime | None) -> tuple[str, dict[str, object]]:
    return ("INSERT INTO access_requests (id, cofor_root, signatory, administrator, terms_version, created_at, "
            "accepted_at) VALUES (:id, :root, '{}', '{}', '2026-01', :now, :accepted)",
            {"id": ident, "root": root, "now": NOW, "accepted": accepted})


async def test_0004_puts_unverified_requests_under_review_and_keeps_every_file(database_url: str) -> None:
    await migrations.upgrade(database_url, MIGRATIONS, "0003")
    await run(database_url,
              presentation("p-draft", "111111111", "DRAFT"), presentation("p-rejected", "222222222", "REJECTED"),
              presentation("p-ref", "333333333", "REFERENCED"),
              supplier("PEND01", "444444444", "TERMS_PENDING", "r-pending"), request("r-pending", "PEND01", None),
              supplier("OPEN01", "555555555", "OPEN", "r-open"), request("r-open", "OPEN01", NOW),
              ("INSERT INTO acceptance_links (token_digest, access_request_id, cofor_root, issued_at, expires_at) "
               "VALUES (:digest, 'r-pending', 'PEND01', :now, :later)",
               {"digest": b"t" * 32, "now": NOW, "later": NOW + dt.timedelta(days=7)}))
    await migrations.upgrade(database_url, MIGRATIONS)
    files, suppliers, requests, links = await run(
        database_url,
        ("SELECT id, duns_claim, confirmed_at IS NOT NULL FROM presentations ORDER BY id", {}),
        ("SELECT cofor_root, access_state, signatory, review_expires_at IS NOT NULL FROM suppliers "
         "ORDER BY cofor_root", {}),
        ("SELECT id, status, expires_at IS NOT NULL FROM access_requests ORDER BY id", {}),
        ("SELECT voided_at IS NOT NULL FROM acceptance_links", {}))
    assert files == [("p-draft", "111111111", True), ("p-ref", "333333333", True), ("p-rejected", None, True)]
    assert [(root, state, expires) for root, state, _, expires in suppliers] == [
        ("OPEN01", "OPEN", False), ("PEND01", "UNDER_REVIEW", True)]
    assert all(signatory in ("{}", {}) for _, _, signatory, _ in suppliers)  # nothing unverified is trusted
    assert requests == [("r-open", "ACCEPTED", False), ("r-pending", "UNDER_REVIEW", True)]
    assert links == [(True,)]  # the link went to whoever the requester named: voided
    # Two files of one D-U-N-S can now exist, but only one may claim it.
    second, params = presentation("p-second", "111111111", "DRAFT")
    await run(database_url, (second.replace("updated_at)", "updated_at, representative)")
                             .replace(":now, :now)", ":now, :now, '{}')"), params))
