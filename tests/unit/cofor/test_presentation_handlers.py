"""Presenting a company and purchasing's decision, on a fake unit of work: the token that is only mailed, the
D-U-N-S a confirmed file holds, the events and mails each step leaves, and what a refusal leaves behind."""
from __future__ import annotations

import datetime as dt

import pytest

from kit.errors import AlreadyExists, FailedPrecondition, InvalidArgument, Unauthenticated
from tests.unit.cofor.builders import NOW, SIGNATORY, T, world

from cofor.domain.presentations import PresentationState

RID = "5b0c7d2e-8f1a-4c3b-9e6d-1a2b3c4d5e6f"


async def test_a_started_file_is_a_draft_whose_token_is_only_mailed() -> None:
    w = world()
    pid, token = await w.present()
    stored = w.store.presentations[pid]
    assert stored.state == PresentationState.DRAFT and stored.duns_claim is None  # unconfirmed: holds nothing
    [mail] = w.store.mails(T.EMAIL_TEMPLATE_PRESENTATION_STARTED)
    assert [r.address for r in mail.to] == ["ann@forges.example"] and token
    assert w.store.of("cofor.presentation.submitted") == []


async def test_bad_fields_are_told_together_and_nothing_is_kept() -> None:
    w = world()
    with pytest.raises(InvalidArgument) as refused:
        await w.registry.start_presentation(duns="12", email="not-an-address", legal_name="", language="de")
    assert {v.field for v in refused.value.violations} == {"duns", "email", "legal_name", "language"}
    assert w.store.commits == 0 and not w.store.presentations


async def test_a_replayed_start_returns_the_same_file_with_a_fresh_token() -> None:
    w = world()
    first = await w.registry.start_presentation(duns="123456789", email="ann@forges.example",
                                                legal_name="Forges SA", language="fr", request_id=RID)
    again = await w.registry.start_presentation(duns="123456789", email="ann@forges.example",
                                                legal_name="Forges SA", language="fr", request_id=RID)
    assert again.id == first.id and len(w.store.presentations) == 1
    tokens = [w.token_of(m, "presenter_token") for m in w.store.mails(T.EMAIL_TEMPLATE_PRESENTATION_STARTED)]
    assert len(tokens) == 2 and tokens[0] != tokens[1]


async def test_a_late_replay_of_the_start_never_voids_a_link_already_opened() -> None:
    """Chaos found it: a retry still in flight after its client gave up replayed the start once the presenter had
    opened the file, voiding the link in use (PRESENTER_TOKEN_INVALID on the next save)."""
    w = world()
    first = await w.registry.start_presentation(duns="123456789", email="ann@forges.example",
                                                legal_name="Forges SA", language="fr", request_id=RID)
    [mail] = w.store.mails(T.EMAIL_TEMPLATE_PRESENTATION_STARTED)
    token = w.token_of(mail, "presenter_token")
    await w.registry.get_presentation(first.id, token, purchasing=False)  # opened: confirmed
    again = await w.registry.start_presentation(duns="123456789", email="ann@forges.example",
                                                legal_name="Forges SA", language="fr", request_id=RID)
    assert again.id == first.id and len(w.store.mails(T.EMAIL_TEMPLATE_PRESENTATION_STARTED)) == 1
    assert (await w.registry.get_presentation(first.id, token, purchasing=False)).id == first.id


async def test_the_first_visit_confirms_the_file_which_then_holds_its_duns() -> None:
    w = world()
    pid, token = await w.present()
    p = await w.registry.get_presentation(pid, token, purchasing=False)
    assert p.confirmed_at == NOW and w.store.presentations[pid].duns_claim == "123456789"


async def test_a_wrong_token_and_an_unknown_file_get_the_same_answer() -> None:
    w = world()
    pid, _ = await w.present()
    for file, token in ((pid, "forged"), ("8a3c1e52-2b8f-4d0e-9d55-2f1f2d4b9c11", "forged"), (pid, None)):
        with pytest.raises(Unauthenticated) as refused:
            await w.registry.get_presentation(file, token, purchasing=False)
        assert refused.value.reason == "PRESENTER_TOKEN_INVALID"
    assert w.store.presentations[pid].confirmed_at is None


async def test_another_file_of_a_held_duns_is_refused_and_the_holder_is_told_once_an_hour() -> None:
    w = world()
    pid, token = await w.present()
    await w.registry.get_presentation(pid, token, purchasing=False)
    for email in ("eve@squat.example", "mallory@squat.example"):
        with pytest.raises(AlreadyExists) as refused:
            await w.registry.start_presentation(duns="123456789", email=email, legal_name="Squat", language="en")
        assert refused.value.reason == "DUNS_ALREADY_PRESENTED"
    [notice] = w.store.mails(T.EMAIL_TEMPLATE_PRESENTATION_DUNS_CLAIMED)
    assert [r.address for r in notice.to] == ["ann@forges.example"]
    assert len(w.store.presentations) == 1


async def test_an_unconfirmed_file_lapses_when_its_presenter_comes_too_late() -> None:
    w = world()
    pid, token = await w.present()
    w.clock.now = NOW + dt.timedelta(hours=25)
    with pytest.raises(FailedPrecondition) as refused:
        await w.registry.get_presentation(pid, token, purchasing=False)
    assert refused.value.reason == "PRESENTATION_EXPIRED"
    assert w.store.presentations[pid].state == PresentationState.EXPIRED  # the lapse is kept


async def test_an_incomplete_file_is_not_submitted() -> None:
    w = world()
    pid, token = await w.present()
    with pytest.raises(FailedPrecondition) as refused:
        await w.registry.submit_presentation(pid, token)
    assert refused.value.reason == "PRESENTATION_INCOMPLETE"
    assert w.store.presentations[pid].state == PresentationState.DRAFT
    assert not w.store.of("cofor.presentation.submitted")


async def test_a_complete_file_is_submitted_then_referenced_with_its_head_office() -> None:
    w = world()
    pid, token = await w.present()
    await w.complete(pid, token)
    await w.registry.submit_presentation(pid, token)
    await w.registry.submit_presentation(pid, token)  # twice: one event, one mail
    assert len(w.store.of("cofor.presentation.submitted")) == 1
    assert len(w.store.mails(T.EMAIL_TEMPLATE_PRESENTATION_SUBMITTED)) == 1
    supplier = await w.registry.reference_supplier(pid, request_id=RID)
    again = await w.registry.reference_supplier(pid, request_id=RID)
    assert again.cofor_root == supplier.cofor_root and list(w.store.suppliers) == [supplier.cofor_root]
    stored = w.store.suppliers[supplier.cofor_root]
    assert [(s.site_code, s.is_head_office, s.city) for s in stored.sites] == [("01", True, "Nancy")]
    assert stored.signatory["email"] == SIGNATORY.email  # the legal representative is the signatory of record
    [event] = w.store.of("cofor.supplier.referenced")
    assert event.cofor_root == supplier.cofor_root and event.head_office_cofor == supplier.head_office_cofor
    assert w.store.presentations[pid].state == PresentationState.REFERENCED
    with pytest.raises(AlreadyExists) as refused:  # the D-U-N-S is a supplier's now
        await w.registry.start_presentation(duns="123456789", email="x@y.example", legal_name="X", language="fr")
    assert refused.value.reason == "DUNS_ALREADY_PRESENTED"


async def test_purchasing_rejects_a_file_which_frees_its_duns() -> None:
    w = world()
    pid, token = await w.present()
    await w.registry.get_presentation(pid, token, purchasing=False)
    with pytest.raises(InvalidArgument):
        await w.registry.reject_presentation(pid, "  ")
    rejected = await w.registry.reject_presentation(pid, "  not a supplier we know ")
    assert rejected.state == PresentationState.REJECTED and rejected.rejection_reason == "not a supplier we know"
    [event] = w.store.of("cofor.presentation.rejected")
    assert event.reason == "not a supplier we know"
    other, _ = await w.present(email="bob@forges.example")  # the D-U-N-S is free again
    assert w.store.presentations[other].state == PresentationState.DRAFT


async def test_housekeeping_lapses_due_drafts_only() -> None:
    w = world()
    old, _ = await w.present()
    w.clock.now = NOW + dt.timedelta(hours=23)
    young, _ = await w.present(duns="111111111", email="bob@forges.example")
    w.clock.now = NOW + dt.timedelta(hours=24)
    assert await w.registry.expire_due_presentations() == 1
    assert w.store.presentations[old].state == PresentationState.EXPIRED
    assert w.store.presentations[young].state == PresentationState.DRAFT
