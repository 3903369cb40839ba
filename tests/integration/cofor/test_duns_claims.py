"""Knowing a D-U-N-S proves nothing (ARCHITECTURE §3 step 1): unconfirmed files never block, confirmed squatters are
told of attempts and rejected by purchasing, purchasing opens the file for a squatted company, files lapse (real
service, both databases)."""
from __future__ import annotations

import datetime as dt
from collections.abc import Awaitable

import grpc
import pytest
from portal.cofor.v1 import cofor_service_pb2 as api
from portal.cofor.v1 import supplier_pb2 as pb
from portal.support.v1 import events_pb2 as mail_events

from kit.client import RpcFailure, failure_of

from .conftest import Cofor
from .flows import new_duns, start, unique_email
from .test_onboarding_trust import AGENT, registry


async def failure(call: Awaitable[object]) -> RpcFailure:
    with pytest.raises(grpc.aio.AioRpcError) as err:
        await call
    return failure_of(err.value)


async def test_a_confirmed_squatter_is_told_and_purchasing_can_reject_the_draft(cofor: Cofor) -> None:
    duns = new_duns()
    squat, token = await start(cofor, duns=duns, email=unique_email("squatter"))
    await cofor.client.GetPresentation(api.GetPresentationRequest(presentation_id=squat.presentation_id),
                                       bearer=token)  # the squatter confirms their own address
    for _ in range(2):
        f = await failure(start(cofor, duns=duns))
        assert f.reason == "DUNS_ALREADY_PRESENTED"
    notices = await cofor.mails_to(squat.email, mail_events.EMAIL_TEMPLATE_PRESENTATION_DUNS_CLAIMED)
    assert len(notices) == 1  # at most one an hour: the notice cannot be used to flood the presenter
    await cofor.client.RejectPresentation(api.RejectPresentationRequest(
        presentation_id=squat.presentation_id, reason="not the company"), as_="purchasing")
    real, real_token = await start(cofor, duns=duns)  # the D-U-N-S is free again
    await cofor.client.GetPresentation(api.GetPresentationRequest(presentation_id=real.presentation_id),
                                       bearer=real_token)


async def test_unconfirmed_and_idle_files_lapse_and_free_their_duns(cofor: Cofor) -> None:
    duns = new_duns()
    lost, token = await start(cofor, duns=duns)
    cofor.clock.offset = dt.timedelta(hours=24, seconds=1)
    try:
        f = await failure(cofor.client.GetPresentation(api.GetPresentationRequest(
            presentation_id=lost.presentation_id), bearer=token))
        assert f.reason == "PRESENTATION_EXPIRED"
        idle, idle_token = await start(cofor, duns=duns)
        await cofor.client.GetPresentation(api.GetPresentationRequest(presentation_id=idle.presentation_id),
                                           bearer=idle_token)
        cofor.clock.offset += dt.timedelta(days=30, seconds=1)
        listed = await cofor.client.ListPresentations(api.ListPresentationsRequest(duns=duns), as_="purchasing")
        assert {p.state for p in listed.presentations} == {pb.PRESENTATION_STATE_EXPIRED}
        assert await registry(cofor).expire_due_presentations() >= 1
        await start(cofor, duns=duns)  # free again
    finally:
        cofor.clock.offset = dt.timedelta()


async def test_purchasing_opens_the_file_for_a_company_whose_duns_a_draft_squats(cofor: Cofor) -> None:
    duns = new_duns()
    squat, token = await start(cofor, duns=duns, email=unique_email("squatter"))
    await cofor.client.GetPresentation(api.GetPresentationRequest(presentation_id=squat.presentation_id),
                                       bearer=token)
    presenter = unique_email("company")
    held = (await cofor.client.StartPresentation(api.StartPresentationRequest(
        duns=duns, email=presenter, legal_name="Forges de Lorraine"), as_="purchasing", agent=AGENT)).presentation
    squatted = (await cofor.client.GetPresentation(api.GetPresentationRequest(
        presentation_id=squat.presentation_id), as_="purchasing")).presentation
    assert squatted.state == pb.PRESENTATION_STATE_REJECTED and AGENT in squatted.rejection_reason
    assert held.expire_time.ToDatetime() - held.create_time.ToDatetime() == dt.timedelta(days=7)
    f = await failure(start(cofor, duns=duns))  # held at once: the squatter cannot take it back meanwhile
    assert f.reason == "DUNS_ALREADY_PRESENTED"
    [(_, secrets)] = await cofor.mails_to(presenter, mail_events.EMAIL_TEMPLATE_PRESENTATION_STARTED)
    opened = await cofor.client.GetPresentation(api.GetPresentationRequest(presentation_id=held.presentation_id),
                                                bearer=secrets["presenter_token"])
    assert opened.presentation.HasField("confirm_time")  # its presenter still proves the address


async def test_housekeeping_keeps_a_file_purchasing_opened_for_its_week(cofor: Cofor) -> None:
    duns = new_duns()
    held = (await cofor.client.StartPresentation(api.StartPresentationRequest(
        duns=duns, email=unique_email("company"), legal_name="Forges de Lorraine"), as_="purchasing",
        agent=AGENT)).presentation
    cofor.clock.offset = dt.timedelta(days=2)  # past the public's 24 hours, within the company's week
    try:
        await registry(cofor).expire_due_presentations()
        kept = (await cofor.client.GetPresentation(api.GetPresentationRequest(
            presentation_id=held.presentation_id), as_="purchasing")).presentation
        assert kept.state == pb.PRESENTATION_STATE_DRAFT
        assert (await failure(start(cofor, duns=duns))).reason == "DUNS_ALREADY_PRESENTED"
        cofor.clock.offset = dt.timedelta(days=7, seconds=1)
        assert await registry(cofor).expire_due_presentations() >= 1
        await start(cofor, duns=duns)  # free again after the week
    finally:
        cofor.clock.offset = dt.timedelta()
