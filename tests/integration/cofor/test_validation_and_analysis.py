"""COFOR validation for internal systems and the get-access analysis (every outcome, in order)."""
from __future__ import annotations

import grpc
import pytest
from portal.cofor.v1 import cofor_service_pb2 as api
from portal.cofor.v1 import supplier_pb2 as pb
from portal.identity.v1 import events_pb2 as identity_events

from kit.client import failure_of

from .conftest import Cofor
from .flows import access_state_becomes, opened, publish_identity, referenced, requested, terms_accepted


async def test_validate_accepts_every_input_form_and_returns_the_canonical_code(cofor: Cofor) -> None:
    s = await referenced(cofor)
    site = (await cofor.client.AddSite(api.AddSiteRequest(cofor_root=s.cofor_root, name="Plant 2"),
                                       as_="purchasing")).site
    root = s.cofor_root
    forms = [root, root.lower(), f"  {root}  ", f"{root}01", f"{root}  01", f"{root.lower()} 01 "]
    for form in forms:
        result = (await cofor.client.ValidateCofor(api.ValidateCoforRequest(cofor=form), as_="erp")).result
        assert result.valid and result.cofor == f"{root}  01" and result.is_head_office, form
        assert result.head_office_cofor == f"{root}  01" and result.supplier_status == pb.SUPPLIER_STATUS_ACTIVE
        assert result.portal_access_state == pb.PORTAL_ACCESS_STATE_NOT_REQUESTED
    result = (await cofor.client.ValidateCofor(api.ValidateCoforRequest(cofor=f"{root}{site.site_code}"),
                                               as_="erp")).result
    assert result.valid and not result.is_head_office and result.cofor == site.cofor


async def test_batch_validation_answers_malformed_entries_instead_of_failing(cofor: Cofor) -> None:
    s = await referenced(cofor)
    inputs = [s.cofor_root, "12", "", "ZZZZZZ", f"{s.cofor_root}  77", "ab-cd!", f"{s.cofor_root}01"]
    reply = await cofor.client.BatchValidateCofor(api.BatchValidateCoforRequest(cofors=inputs), as_="erp")
    got = [(r.input, r.valid, api.CoforInvalidReason.Name(r.reason)) for r in reply.results]
    assert got == [
        (s.cofor_root, True, "COFOR_INVALID_REASON_UNSPECIFIED"),
        ("12", False, "COFOR_INVALID_REASON_MALFORMED"),
        ("", False, "COFOR_INVALID_REASON_MALFORMED"),
        ("ZZZZZZ", False, "COFOR_INVALID_REASON_UNKNOWN_SUPPLIER") if s.cofor_root != "ZZZZZZ" else got[3],
        (f"{s.cofor_root}  77", False, "COFOR_INVALID_REASON_UNKNOWN_SITE"),
        ("ab-cd!", False, "COFOR_INVALID_REASON_MALFORMED"),
        (f"{s.cofor_root}01", True, "COFOR_INVALID_REASON_UNSPECIFIED"),
    ]
    many = await cofor.client.BatchValidateCofor(api.BatchValidateCoforRequest(cofors=[s.cofor_root] * 1000),
                                                 as_="erp")
    assert len(many.results) == 1000 and all(r.valid for r in many.results)
    for bad in ([], [s.cofor_root] * 1001):
        with pytest.raises(grpc.aio.AioRpcError) as err:
            await cofor.client.BatchValidateCofor(api.BatchValidateCoforRequest(cofors=bad), as_="erp")
        assert failure_of(err.value).code == grpc.StatusCode.INVALID_ARGUMENT


async def analysis(cofor: Cofor, code: str, site: str = "") -> api.AnalyzeAccessResponse:
    return await cofor.client.AnalyzeAccess(api.AnalyzeAccessRequest(cofor=code, site_code=site))


def outcome(reply: api.AnalyzeAccessResponse) -> tuple[str, str, str]:
    return (api.AnalysisOutcome.Name(reply.outcome).removeprefix("ANALYSIS_OUTCOME_"),
            api.AnalysisStatus.Name(reply.status).removeprefix("ANALYSIS_STATUS_"),
            api.NextStep.Name(reply.next_step).removeprefix("NEXT_STEP_"))


async def test_analysis_invalid_cofor(cofor: Cofor) -> None:
    s = await referenced(cofor)
    for code, site in (("12", ""), ("!!!!!!", ""), ("Q9Q9Q9", ""), (s.cofor_root, "77"), (s.cofor_root, "x"),
                       (f"{s.cofor_root}01", "02")):
        reply = await analysis(cofor, code, site)
        assert outcome(reply) == ("INVALID_COFOR", "KO", "CORRECT_OR_PRESENT_COMPANY"), (code, site)
        assert reply.message_key == "access.analysis.invalid_cofor"


async def test_analysis_supplier_deactivated_comes_before_site_eligibility(cofor: Cofor) -> None:
    s = await referenced(cofor)
    await cofor.client.AddSite(api.AddSiteRequest(cofor_root=s.cofor_root, name="Plant 2"), as_="purchasing")
    await cofor.client.DeactivateSupplier(api.DeactivateSupplierRequest(cofor_root=s.cofor_root, reason="merged"),
                                          as_="purchasing")
    for site in ("", "02"):
        reply = await analysis(cofor, s.cofor_root, site)
        assert outcome(reply) == ("SUPPLIER_DEACTIVATED", "KO", "CONTACT_PURCHASING_OR_PRESENT_COMPANY")


async def test_analysis_site_not_eligible_returns_the_head_office(cofor: Cofor) -> None:
    s = await referenced(cofor)
    await cofor.client.AddSite(api.AddSiteRequest(cofor_root=s.cofor_root, name="Plant 2"), as_="purchasing")
    reply = await analysis(cofor, s.cofor_root, "02")
    assert outcome(reply) == ("SITE_NOT_ELIGIBLE", "KO", "ANALYZE_HEAD_OFFICE")
    assert reply.cofor == f"{s.cofor_root}  02" and reply.head_office_cofor == f"{s.cofor_root}  01"


async def test_analysis_follows_the_access_stages_up_to_open(cofor: Cofor) -> None:
    s = await referenced(cofor)
    reply = await analysis(cofor, s.cofor_root)
    assert outcome(reply) == ("ACCESS_NOT_REQUESTED", "KO", "REQUEST_ACCESS")
    assert reply.cofor == f"{s.cofor_root}  01"

    s, _, _, _ = await requested(cofor)
    assert outcome(await analysis(cofor, s.cofor_root, "01")) == ("TERMS_PENDING", "KO", "ACCEPT_TERMS")

    s, _ = await terms_accepted(cofor)
    assert outcome(await analysis(cofor, s.cofor_root)) == ("ADMINISTRATOR_PENDING", "KO", "WAIT")

    s = await opened(cofor)
    reply = await analysis(cofor, s.cofor_root.lower())
    assert outcome(reply) == ("ACCESS_OPEN", "OK", "CONTACT_ADMINISTRATOR")
    assert list(reply.administrator_names) == ["Admin Martin"]
    assert "@" not in str(reply)  # never an e-mail address

    await publish_identity(cofor, "identity.company.administrators_changed",
                           identity_events.ActiveAdministratorsChanged(
        cofor_root=s.cofor_root, active_administrator_count=0, revision=2))
    await access_state_becomes(cofor, s.cofor_root, pb.PORTAL_ACCESS_STATE_SUSPENDED)
    assert outcome(await analysis(cofor, s.cofor_root)) == ("ACCESS_SUSPENDED", "KO", "CONTACT_SUPPORT")
