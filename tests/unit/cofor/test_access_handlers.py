"""Portal access on a fake unit of work: where a request goes (the signatory of record, or purchasing's review),
the one-time link and its acceptance, purchasing's review and reset, and the housekeeping of requests nobody
answered."""
from __future__ import annotations

import datetime as dt

import pytest

from kit.digests import token_digest
from kit.errors import FailedPrecondition, NotFound, ResourceExhausted
from tests.unit.cofor.builders import NOMINEE, NOW, SIGNATORY, TERMS, T, World, world

from cofor.domain.access import AccessState, ContactDetails, LinkState, RequestStatus

STRANGER = ContactDetails("Eve", "Stranger", "eve@elsewhere.example", "+33 6 00 00 00 00", "CEO", "en")


async def _requested(w: World, signatory: ContactDetails = SIGNATORY) -> str:
    """A request for the head office of ABC123; the acceptance token mailed, if any."""
    s, request = await w.registry.request_access("ABC12301", signatory, NOMINEE, client="198.51.100.7")
    mails = w.store.mails(T.EMAIL_TEMPLATE_TERMS_ACCEPTANCE)
    return w.token_of(mails[-1], "acceptance_token") if mails else ""


async def test_a_request_naming_the_signatory_of_record_sends_them_the_link() -> None:
    w = world()
    w.supplier()
    token = await _requested(w)
    s = w.store.suppliers["ABC123"]
    [request] = w.store.requests.values()
    assert s.access_state == AccessState.TERMS_PENDING and request.status == RequestStatus.TERMS_PENDING
    assert s.access_request_id == request.id
    [link] = w.store.links.values()
    assert link.token_digest == token_digest(token) and link.access_request_id == request.id
    [mail] = w.store.mails(T.EMAIL_TEMPLATE_TERMS_ACCEPTANCE)
    assert [r.address for r in mail.to] == [SIGNATORY.email]
    [event] = w.store.of("cofor.access.requested")
    assert event.access_request_id == request.id and not event.review_required


async def test_a_request_naming_someone_else_waits_for_review_and_the_signatory_hears_of_it() -> None:
    w = world()
    w.supplier()
    assert await _requested(w, STRANGER) == ""
    [request] = w.store.requests.values()
    assert request.status == RequestStatus.UNDER_REVIEW and not w.store.links
    assert w.store.suppliers["ABC123"].access_state == AccessState.UNDER_REVIEW
    [notice] = w.store.mails(T.EMAIL_TEMPLATE_ACCESS_REQUEST_UNDER_REVIEW)
    assert [r.address for r in notice.to] == [SIGNATORY.email]  # never the typed address
    [event] = w.store.of("cofor.access.requested")
    assert event.review_required


async def test_access_is_asked_for_the_head_office_of_a_known_supplier() -> None:
    w = world()
    w.supplier()
    with pytest.raises(NotFound) as unknown:
        await w.registry.request_access("ZZZ99901", SIGNATORY, NOMINEE)
    assert unknown.value.reason == "SUPPLIER_NOT_FOUND"
    with pytest.raises(FailedPrecondition) as plant:
        await w.registry.request_access("ABC12302", SIGNATORY, NOMINEE)
    assert plant.value.reason == "SITE_NOT_ELIGIBLE"
    assert not w.store.requests and w.store.commits == 0


async def test_a_client_filing_too_many_requests_is_refused() -> None:
    w = world()
    w.supplier()
    for _ in range(10):
        await w.registry.request_access("ABC123", STRANGER, NOMINEE, client="203.0.113.9")
    with pytest.raises(ResourceExhausted) as refused:
        await w.registry.request_access("ABC123", STRANGER, NOMINEE, client="203.0.113.9")
    assert refused.value.reason == "RATE_LIMITED" and len(w.store.requests) == 10


async def test_the_link_is_accepted_once() -> None:
    w = world()
    w.supplier()
    token = await _requested(w)
    view = await w.registry.describe_terms(token)
    assert view.state == LinkState.VALID and view.administrator["email"] == NOMINEE.email
    s = await w.registry.accept_terms(token, TERMS)
    assert s.access_state == AccessState.ADMINISTRATOR_PENDING
    [request] = w.store.requests.values()
    assert request.status == RequestStatus.ACCEPTED and request.accepted_at == NOW
    [event] = w.store.of("cofor.access.terms_accepted")
    assert event.administrator.email == NOMINEE.email and event.terms_version == TERMS
    with pytest.raises(FailedPrecondition) as again:
        await w.registry.accept_terms(token, TERMS)
    assert again.value.reason == "ACCEPTANCE_TOKEN_USED"
    used = await w.registry.describe_terms(token)
    assert used.state == LinkState.USED and used.administrator == {}  # a used link names nobody


async def test_an_unknown_token_is_not_found_and_the_guess_still_counts() -> None:
    w = world()
    with pytest.raises(NotFound) as refused:
        await w.registry.accept_terms("guess", TERMS, client="203.0.113.9")
    assert refused.value.reason == "ACCEPTANCE_TOKEN_NOT_FOUND"
    assert w.store.counters == {"accept-terms:203.0.113.9": 1}


async def test_other_terms_are_refused_and_the_link_stays_usable() -> None:
    w = world()
    w.supplier()
    token = await _requested(w)
    with pytest.raises(FailedPrecondition) as refused:
        await w.registry.accept_terms(token, "2025-01")
    assert refused.value.reason == "TERMS_VERSION_MISMATCH"
    assert (await w.registry.describe_terms(token)).state == LinkState.VALID


async def test_purchasing_approves_a_request_under_review_and_the_checked_signatory_gets_the_link() -> None:
    w = world()
    w.supplier(signatory=None)
    await _requested(w, STRANGER)
    [request] = w.store.requests.values()
    s, approved = await w.registry.review_request("ABC123", request.id, "APPROVE", STRANGER, None, "checked", "Ann")
    assert approved.status == RequestStatus.TERMS_PENDING and approved.reviewed_by == "Ann"
    assert s.signatory["email"] == STRANGER.email and s.access_state == AccessState.TERMS_PENDING
    [mail] = w.store.mails(T.EMAIL_TEMPLATE_TERMS_ACCEPTANCE)
    assert [r.address for r in mail.to] == [STRANGER.email]
    with pytest.raises(FailedPrecondition) as twice:
        await w.registry.review_request("ABC123", request.id, "DECLINE", STRANGER, None, "no", "Ann")
    assert twice.value.reason == "REQUEST_NOT_UNDER_REVIEW"


async def test_a_reset_ends_every_request_and_voids_every_link() -> None:
    w = world()
    w.supplier()
    token = await _requested(w)
    await _requested(w, STRANGER)
    s = await w.registry.reset_access("ABC123", "rogue administrator", "Ann")
    assert s.access_state == AccessState.NOT_REQUESTED
    assert {r.status for r in w.store.requests.values()} == {RequestStatus.RESET}
    assert (await w.registry.describe_terms(token)).state == LinkState.VOIDED
    [event] = w.store.of("cofor.access.reset")
    assert event.actor == "Ann" and event.reason == "rogue administrator"


async def test_housekeeping_lapses_requests_past_their_expiry_with_their_links() -> None:
    w = world()
    w.supplier()
    token = await _requested(w)
    w.clock.now = NOW + dt.timedelta(days=8)
    assert await w.registry.lapse_due_requests() == 1
    [request] = w.store.requests.values()
    assert request.status == RequestStatus.EXPIRED
    assert w.store.suppliers["ABC123"].access_state == AccessState.NOT_REQUESTED
    assert w.store.links[token_digest(token)].voided_at == w.clock.now
    assert await w.registry.lapse_due_requests() == 0
