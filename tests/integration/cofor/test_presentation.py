"""Present your company: start, update, submit, reject, reference (real service, both databases)."""
from __future__ import annotations

import asyncio
import datetime as dt
import re

import grpc
import pytest
from portal.cofor.v1 import cofor_service_pb2 as api
from portal.cofor.v1 import events_pb2 as ev
from portal.cofor.v1 import supplier_pb2 as pb
from portal.support.v1 import events_pb2 as mail_events

from kit.client import failure_of
from testing.streams import read_subject, wait_for

from .conftest import Cofor
from .flows import COMPLETE, mask, new_duns, referenced, start, submitted, unique_email


async def test_start_opens_an_unconfirmed_draft_whose_token_is_only_mailed(cofor: Cofor) -> None:
    email = unique_email("presenter")
    p, token = await start(cofor, email=email)  # start() asserts the reply carries no token
    assert p.state == pb.PRESENTATION_STATE_DRAFT and p.email == email and len(token) >= 43
    assert "tax_number" in p.missing_fields and "legal_representative.email" in p.missing_fields
    assert not p.HasField("confirm_time") and p.expire_time.ToDatetime() - p.create_time.ToDatetime() == \
        dt.timedelta(hours=24)
    [(mail, _)] = await cofor.mails_to(email, mail_events.EMAIL_TEMPLATE_PRESENTATION_STARTED)
    assert token.encode() not in mail.SerializeToString()  # only the sealed box carries it
    opened = await cofor.client.GetPresentation(api.GetPresentationRequest(presentation_id=p.presentation_id),
                                                bearer=token)
    assert opened.presentation.HasField("confirm_time")  # the mailed token's first use proves the e-mail
    assert opened.presentation.expire_time.ToDatetime() - opened.presentation.update_time.ToDatetime() == \
        dt.timedelta(days=30)


async def test_duns_accepts_dashes_and_a_second_file_for_a_confirmed_one_is_refused(cofor: Cofor) -> None:
    duns = new_duns()
    p, token = await start(cofor, duns=f"{duns[:2]}-{duns[2:5]}-{duns[5:]}")
    assert p.duns == duns
    await cofor.client.GetPresentation(api.GetPresentationRequest(presentation_id=p.presentation_id), bearer=token)
    with pytest.raises(grpc.aio.AioRpcError) as err:
        await start(cofor, duns=duns)
    failure = failure_of(err.value)
    assert failure.code == grpc.StatusCode.ALREADY_EXISTS and failure.reason == "DUNS_ALREADY_PRESENTED"


async def test_racing_confirmations_of_one_duns_give_exactly_one_file(cofor: Cofor) -> None:
    duns = new_duns()
    started = await asyncio.gather(*(start(cofor, duns=duns) for _ in range(6)))  # unconfirmed: none blocks

    async def confirm(p: pb.Presentation, token: str) -> object:
        return await cofor.client.GetPresentation(api.GetPresentationRequest(presentation_id=p.presentation_id),
                                                  bearer=token)
    results = await asyncio.gather(*(confirm(p, t) for p, t in started), return_exceptions=True)
    confirmed = [r for r in results if not isinstance(r, BaseException)]
    refused = [r for r in results if isinstance(r, grpc.aio.AioRpcError)]
    assert len(confirmed) == 1 and len(refused) == 5
    assert all(failure_of(r).reason == "DUNS_ALREADY_PRESENTED" for r in refused)
    listed = await cofor.client.ListPresentations(api.ListPresentationsRequest(duns=duns), as_="purchasing")
    assert sorted(p.HasField("confirm_time") for p in listed.presentations) == [False] * 5 + [True]


async def test_bad_start_input_names_every_bad_field_and_creates_nothing(cofor: Cofor) -> None:
    with pytest.raises(grpc.aio.AioRpcError) as err:
        await cofor.client.StartPresentation(api.StartPresentationRequest(
            duns="12345", email="not-an-email", legal_name="", language="de"))
    failure = failure_of(err.value)
    assert failure.code == grpc.StatusCode.INVALID_ARGUMENT and failure.reason == "INVALID_REQUEST"
    assert {f for f, _ in failure.field_violations} == {"duns", "email", "legal_name", "language"}


async def test_update_with_mask_and_submit_lists_every_missing_field(cofor: Cofor) -> None:
    p, token = await start(cofor)
    change = pb.Presentation(presentation_id=p.presentation_id, tax_number="FR40303265045",
                             legal_existence_proof_ref="ignored: not in the mask")
    reply = await cofor.client.UpdatePresentation(api.UpdatePresentationRequest(
        presentation=change, update_mask=mask("tax_number")), bearer=token)
    assert reply.presentation.tax_number == "FR40303265045" and not reply.presentation.legal_existence_proof_ref
    with pytest.raises(grpc.aio.AioRpcError) as err:
        await cofor.client.SubmitPresentation(api.SubmitPresentationRequest(presentation_id=p.presentation_id),
                                              bearer=token)
    failure = failure_of(err.value)
    assert failure.code == grpc.StatusCode.FAILED_PRECONDITION and failure.reason == "PRESENTATION_INCOMPLETE"
    assert failure.precondition_subjects == [
        "national_registration_number", "head_office_address.lines", "head_office_address.postal_code",
        "head_office_address.city", "head_office_address.country_code", "country_code", "legal_existence_proof_ref",
        "legal_representative.given_name", "legal_representative.family_name", "legal_representative.email",
        "legal_representative.job_title"]


async def test_update_refuses_bad_values_and_unknown_mask_paths_without_changing_anything(cofor: Cofor) -> None:
    p, token = await start(cofor)
    bad = pb.Presentation(presentation_id=p.presentation_id, country_code="France",
                          head_office_address=pb.Address(country_code="XX", lines=["a\x00b"]))
    with pytest.raises(grpc.aio.AioRpcError) as err:
        await cofor.client.UpdatePresentation(api.UpdatePresentationRequest(
            presentation=bad, update_mask=mask("country_code", "head_office_address", "duns")), bearer=token)
    fields = {f for f, _ in failure_of(err.value).field_violations}
    assert fields == {"update_mask", "presentation.country_code", "presentation.head_office_address.lines[0]",
                      "presentation.head_office_address.country_code"}
    for path in ("legal_representative.", "legal_representative.__class__", "legal_representative.email.x"):
        with pytest.raises(grpc.aio.AioRpcError) as err:  # an unknown sub-path is bad input, never INTERNAL
            await cofor.client.UpdatePresentation(api.UpdatePresentationRequest(
                presentation=pb.Presentation(presentation_id=p.presentation_id), update_mask=mask(path)), bearer=token)
        assert failure_of(err.value).field_violations == [("update_mask", f"{path} is not an updatable field")]
    again = await cofor.client.GetPresentation(api.GetPresentationRequest(presentation_id=p.presentation_id),
                                               bearer=token)
    assert again.presentation.country_code == "" and not again.presentation.head_office_address.lines


async def test_the_presenter_token_opens_only_its_own_file(cofor: Cofor) -> None:
    p, _ = await start(cofor)
    _, other_token = await start(cofor)
    for token in (other_token, None, "forged"):
        with pytest.raises(grpc.aio.AioRpcError) as err:
            await cofor.client.GetPresentation(api.GetPresentationRequest(presentation_id=p.presentation_id),
                                               bearer=token)
        assert failure_of(err.value).reason == "PRESENTER_TOKEN_INVALID"
    # Purchasing reads any file without a presenter token.
    reply = await cofor.client.GetPresentation(api.GetPresentationRequest(presentation_id=p.presentation_id),
                                               as_="purchasing")
    assert reply.presentation.presentation_id == p.presentation_id


async def test_submit_publishes_once_and_a_second_submit_changes_nothing(cofor: Cofor) -> None:
    p, token = await submitted(cofor)
    assert p.state == pb.PRESENTATION_STATE_SUBMITTED and not p.missing_fields
    again = await cofor.client.SubmitPresentation(api.SubmitPresentationRequest(presentation_id=p.presentation_id),
                                                  bearer=token)
    assert again.presentation.state == pb.PRESENTATION_STATE_SUBMITTED

    async def submitted_events() -> list[ev.PresentationSubmitted]:
        msgs = await read_subject(cofor.js, "COFOR", "cofor.presentation.submitted")
        return [e for e in (ev.PresentationSubmitted.FromString(m.data) for m in msgs)
                if e.presentation_id == p.presentation_id]

    await wait_for(submitted_events)
    await asyncio.sleep(0.3)
    assert len(await submitted_events()) == 1
    with pytest.raises(grpc.aio.AioRpcError) as err:
        await cofor.client.UpdatePresentation(api.UpdatePresentationRequest(
            presentation=pb.Presentation(presentation_id=p.presentation_id, tax_number="x"),
            update_mask=mask("tax_number")), bearer=token)
    assert failure_of(err.value).reason == "PRESENTATION_NOT_EDITABLE"


async def test_reference_allocates_a_random_root_and_the_head_office_site(cofor: Cofor) -> None:
    roots = set()
    for _ in range(3):
        supplier = await referenced(cofor)
        assert re.fullmatch(r"[0-9A-Z]{6}", supplier.cofor_root)
        assert supplier.head_office_cofor == f"{supplier.cofor_root}  01"
        assert supplier.status == pb.SUPPLIER_STATUS_ACTIVE
        assert supplier.portal_access_state == pb.PORTAL_ACCESS_STATE_NOT_REQUESTED
        assert [s.site_code for s in supplier.sites] == ["01"] and supplier.sites[0].is_head_office
        assert supplier.sites[0].address.city == COMPLETE.head_office_address.city
        roots.add(supplier.cofor_root)
    assert len(roots) == 3
    await wait_for(lambda: _referenced(cofor, supplier.cofor_root))


async def _referenced(cofor: Cofor, root: str) -> bool:
    msgs = await read_subject(cofor.js, "COFOR", "cofor.supplier.referenced")
    return any(ev.SupplierReferenced.FromString(m.data).cofor_root == root for m in msgs)


async def test_reference_is_idempotent_with_a_request_id(cofor: Cofor) -> None:
    p, _ = await submitted(cofor)
    request = api.ReferenceSupplierRequest(presentation_id=p.presentation_id,
                                           request_id="0b7c6f0e-8a8e-4c61-9a55-2b0f7f3c1e11")
    first = await cofor.client.ReferenceSupplier(request, as_="purchasing")
    second = await cofor.client.ReferenceSupplier(request, as_="purchasing")
    assert first.supplier.cofor_root == second.supplier.cofor_root


async def test_a_start_request_id_reused_for_another_company_never_hands_over_the_first_file(cofor: Cofor) -> None:
    shared_id = "5a0c9d7e-2b1f-4e3d-8c6b-9a8f7e6d5c4b"
    first = await cofor.client.StartPresentation(api.StartPresentationRequest(
        duns=new_duns(), email=unique_email("owner"), legal_name="Owner SA", request_id=shared_id))
    retry = await cofor.client.StartPresentation(api.StartPresentationRequest(
        duns=first.presentation.duns, email=first.presentation.email, legal_name="Owner SA", request_id=shared_id))
    assert retry.presentation.presentation_id == first.presentation.presentation_id  # a true retry is a replay
    other = await cofor.client.StartPresentation(api.StartPresentationRequest(
        duns=new_duns(), email=unique_email("intruder"), legal_name="Intruder SA", request_id=shared_id))
    assert other.presentation.presentation_id != first.presentation.presentation_id
    mails = await cofor.mails_to(first.presentation.email, mail_events.EMAIL_TEMPLATE_PRESENTATION_STARTED, count=2)
    owned = await cofor.client.GetPresentation(api.GetPresentationRequest(
        presentation_id=first.presentation.presentation_id), bearer=mails[-1][1]["presenter_token"])
    assert owned.presentation.legal_name == "Owner SA"  # the owner's latest link still opens it
    with pytest.raises(grpc.aio.AioRpcError):  # the retry voided the first mailed token
        await cofor.client.GetPresentation(api.GetPresentationRequest(
            presentation_id=first.presentation.presentation_id), bearer=mails[0][1]["presenter_token"])


async def test_reject_is_final_and_mails_the_reason(cofor: Cofor) -> None:
    p, token = await submitted(cofor)
    reply = await cofor.client.RejectPresentation(api.RejectPresentationRequest(
        presentation_id=p.presentation_id, reason="Outside our purchasing scope"), as_="purchasing")
    assert reply.presentation.state == pb.PRESENTATION_STATE_REJECTED
    [(mail, _)] = await cofor.mails_to(p.email, mail_events.EMAIL_TEMPLATE_PRESENTATION_REJECTED)
    assert mail.presentation_rejected.reason == "Outside our purchasing scope"
    for call, request in ((cofor.client.ReferenceSupplier, api.ReferenceSupplierRequest(
            presentation_id=p.presentation_id)), (cofor.client.RejectPresentation, api.RejectPresentationRequest(
            presentation_id=p.presentation_id, reason="again"))):
        with pytest.raises(grpc.aio.AioRpcError) as err:
            await call(request, as_="purchasing")
        assert failure_of(err.value).reason == "PRESENTATION_NOT_SUBMITTED"


async def test_list_presentations_pages_through_every_file(cofor: Cofor) -> None:
    created = {(await start(cofor))[0].presentation_id for _ in range(5)}
    seen: list[str] = []
    token = ""
    while True:
        page = await cofor.client.ListPresentations(api.ListPresentationsRequest(
            state=pb.PRESENTATION_STATE_DRAFT, page_size=2, page_token=token), as_="purchasing")
        seen += [p.presentation_id for p in page.presentations]
        token = page.next_page_token
        if not token:
            break
    assert created <= set(seen) and len(seen) == len(set(seen))
    with pytest.raises(grpc.aio.AioRpcError) as err:
        await cofor.client.ListPresentations(api.ListPresentationsRequest(page_token="garbage"), as_="purchasing")
    assert failure_of(err.value).field_violations[0][0] == "page_token"
