"""CoforService over gRPC: checks the caller, translates proto ⇄ use-case calls. No business rules here."""
from __future__ import annotations

import grpc
from portal.cofor.v1 import cofor_service_pb2 as api
from portal.cofor.v1 import cofor_service_pb2_grpc as api_grpc
from portal.cofor.v1 import supplier_pb2 as pb

from kit.auth import Ctx, ServiceCaller, ServiceCredentials, agent_name, bearer_token, client_address, require_service
from kit.clock import to_timestamp
from kit.errors import FieldViolation, InvalidArgument
from kit.grpc_server import Registrar
from kit.validation import enum_name

from cofor.adapters import protos
from cofor.domain.access import ContactDetails
from cofor.service_layer.registry import AddressInput, Registry, Validation
from cofor.views import Views

ANY = ("public", "purchasing", "internal", "support")
PURCHASING = ("purchasing",)
INTERNAL = ("internal", "purchasing", "support")
MAX_BATCH = 1000


def _address(a: pb.Address) -> AddressInput:
    return AddressInput(list(a.lines), a.postal_code, a.city, a.country_code)


def _contact(c: pb.Contact) -> ContactDetails:
    return ContactDetails(c.given_name, c.family_name, c.email, c.phone, c.job_title, c.language)


def _validation(v: Validation) -> api.CoforValidation:
    result = api.CoforValidation(input=v.input, valid=v.valid)
    if v.reason:
        result.reason = api.CoforInvalidReason.Value(f"COFOR_INVALID_REASON_{v.reason}")
    if v.entry is not None and v.valid:
        result.cofor = v.cofor
        result.supplier_status = protos.supplier_status(v.entry.status)
        result.is_head_office = v.is_head_office
        result.head_office_cofor = v.head_office_cofor
        result.portal_access_state = protos.access_state(v.entry.access_state)
        result.legal_name = v.entry.legal_name
    return result


class CoforServicer(api_grpc.CoforServiceServicer):
    def __init__(self, registry: Registry, views: Views, credentials: ServiceCredentials) -> None:
        self.registry = registry
        self.views = views
        self.credentials = credentials

    def _caller(self, context: Ctx, roles: tuple[str, ...]) -> ServiceCaller:
        return require_service(self.credentials, context, roles)

    def _client(self, caller: ServiceCaller, context: Ctx) -> str:
        # Only the public gateway's visitors are rate-limited; their address comes forwarded by the gateway.
        return client_address(context) if "public" in caller.roles else ""

    async def StartPresentation(self, request: api.StartPresentationRequest,
                                context: Ctx) -> api.StartPresentationResponse:
        caller = self._caller(context, ANY)
        # Purchasing opening a file for a company (it then holds the D-U-N-S at once): recorded with the agent.
        for_purchasing = (agent_name(context) or caller.name) if "purchasing" in caller.roles else ""
        p = await self.registry.start_presentation(
            duns=request.duns, email=request.email, legal_name=request.legal_name, language=request.language,
            request_id=request.request_id, client=self._client(caller, context), for_purchasing=for_purchasing)
        return api.StartPresentationResponse(presentation=protos.presentation(p))

    async def UpdatePresentation(self, request: api.UpdatePresentationRequest,
                                 context: Ctx) -> api.UpdatePresentationResponse:
        self._caller(context, ANY)
        given = request.presentation
        values = {
            "legal_name": given.legal_name, "national_registration_number": given.national_registration_number,
            "tax_number": given.tax_number, "head_office_address": _address(given.head_office_address),
            "country_code": given.country_code, "legal_existence_proof_ref": given.legal_existence_proof_ref,
            "legal_representative": _contact(given.legal_representative),
        }
        if not given.HasField("head_office_address"):
            values["head_office_address"] = AddressInput([], "", "", "")
        p = await self.registry.update_presentation(given.presentation_id, bearer_token(context), values,
                                                    list(request.update_mask.paths))
        return api.UpdatePresentationResponse(presentation=protos.presentation(p))

    async def SubmitPresentation(self, request: api.SubmitPresentationRequest,
                                 context: Ctx) -> api.SubmitPresentationResponse:
        self._caller(context, ANY)
        p = await self.registry.submit_presentation(request.presentation_id, bearer_token(context))
        return api.SubmitPresentationResponse(presentation=protos.presentation(p))

    async def GetPresentation(self, request: api.GetPresentationRequest, context: Ctx) -> api.GetPresentationResponse:
        caller = self._caller(context, ANY)
        p = await self.registry.get_presentation(request.presentation_id, bearer_token(context),
                                                 purchasing="purchasing" in caller.roles)
        return api.GetPresentationResponse(presentation=protos.presentation(p, self.registry.now()))

    async def ListPresentations(self, request: api.ListPresentationsRequest,
                                context: Ctx) -> api.ListPresentationsResponse:
        self._caller(context, PURCHASING)
        state = enum_name(pb.PresentationState, request.state, "PRESENTATION_STATE_", "state")
        rows, token = await self.views.list_presentations(state, request.duns, request.page_size, request.page_token)
        now = self.registry.now()
        return api.ListPresentationsResponse(presentations=[protos.presentation(p, now) for p in rows],
                                             next_page_token=token)

    async def RejectPresentation(self, request: api.RejectPresentationRequest,
                                 context: Ctx) -> api.RejectPresentationResponse:
        self._caller(context, PURCHASING)
        p = await self.registry.reject_presentation(request.presentation_id, request.reason)
        return api.RejectPresentationResponse(presentation=protos.presentation(p))

    async def ReferenceSupplier(self, request: api.ReferenceSupplierRequest,
                                context: Ctx) -> api.ReferenceSupplierResponse:
        self._caller(context, PURCHASING)
        s = await self.registry.reference_supplier(request.presentation_id, request.request_id)
        return api.ReferenceSupplierResponse(supplier=protos.supplier(s))

    async def AddSite(self, request: api.AddSiteRequest, context: Ctx) -> api.AddSiteResponse:
        self._caller(context, PURCHASING)
        site = await self.registry.add_site(request.cofor_root, request.site_code, request.name,
                                            _address(request.address), request.request_id)
        return api.AddSiteResponse(site=protos.site(site))

    async def DeactivateSupplier(self, request: api.DeactivateSupplierRequest,
                                 context: Ctx) -> api.DeactivateSupplierResponse:
        self._caller(context, PURCHASING)
        return api.DeactivateSupplierResponse(supplier=protos.supplier(
            await self.registry.deactivate(request.cofor_root, request.reason)))

    async def ReactivateSupplier(self, request: api.ReactivateSupplierRequest,
                                 context: Ctx) -> api.ReactivateSupplierResponse:
        self._caller(context, PURCHASING)
        supplier = await self.registry.reactivate(request.cofor_root)
        return api.ReactivateSupplierResponse(supplier=protos.supplier(supplier))

    async def SuspendPortalAccess(self, request: api.SuspendPortalAccessRequest,
                                  context: Ctx) -> api.SuspendPortalAccessResponse:
        self._caller(context, PURCHASING)
        return api.SuspendPortalAccessResponse(supplier=protos.supplier(
            await self.registry.suspend(request.cofor_root, request.reason)))

    async def ReopenPortalAccess(self, request: api.ReopenPortalAccessRequest,
                                 context: Ctx) -> api.ReopenPortalAccessResponse:
        self._caller(context, PURCHASING)
        return api.ReopenPortalAccessResponse(supplier=protos.supplier(await self.registry.reopen(request.cofor_root)))

    async def GetSupplier(self, request: api.GetSupplierRequest, context: Ctx) -> api.GetSupplierResponse:
        self._caller(context, INTERNAL)
        s, access_request, pending = await self.registry.get_supplier(request.cofor)
        return api.GetSupplierResponse(supplier=protos.supplier(s, access_request, pending))

    async def ListSuppliers(self, request: api.ListSuppliersRequest, context: Ctx) -> api.ListSuppliersResponse:
        self._caller(context, INTERNAL)
        status = enum_name(pb.SupplierStatus, request.status, "SUPPLIER_STATUS_", "status")
        access = enum_name(pb.PortalAccessState, request.portal_access_state, "PORTAL_ACCESS_STATE_",
                            "portal_access_state")
        rows, token = await self.views.list_suppliers(status, access, request.page_size, request.page_token)
        return api.ListSuppliersResponse(suppliers=[protos.supplier(s) for s in rows], next_page_token=token)

    async def ReviewAccessRequest(self, request: api.ReviewAccessRequestRequest,
                                  context: Ctx) -> api.ReviewAccessRequestResponse:
        self._caller(context, PURCHASING)
        decision = enum_name(api.AccessReviewDecision, request.decision, "ACCESS_REVIEW_DECISION_", "decision")
        s, access_request = await self.registry.review_request(
            request.cofor, request.access_request_id, decision, _contact(request.signatory),
            _contact(request.administrator) if request.HasField("administrator") else None, request.reason,
            agent_name(context))
        return api.ReviewAccessRequestResponse(supplier=protos.supplier(s, access_request))

    async def UpdateSignatoryOfRecord(self, request: api.UpdateSignatoryOfRecordRequest,
                                      context: Ctx) -> api.UpdateSignatoryOfRecordResponse:
        self._caller(context, PURCHASING)
        s = await self.registry.update_signatory(request.cofor, _contact(request.signatory), agent_name(context))
        return api.UpdateSignatoryOfRecordResponse(supplier=protos.supplier(s))

    async def ResetPortalAccess(self, request: api.ResetPortalAccessRequest,
                                context: Ctx) -> api.ResetPortalAccessResponse:
        self._caller(context, PURCHASING)
        s = await self.registry.reset_access(request.cofor, request.reason, agent_name(context))
        return api.ResetPortalAccessResponse(supplier=protos.supplier(s))

    async def ValidateCofor(self, request: api.ValidateCoforRequest, context: Ctx) -> api.ValidateCoforResponse:
        self._caller(context, INTERNAL)
        [result] = await self.registry.validate([request.cofor])
        return api.ValidateCoforResponse(result=_validation(result))

    async def BatchValidateCofor(self, request: api.BatchValidateCoforRequest,
                                 context: Ctx) -> api.BatchValidateCoforResponse:
        self._caller(context, INTERNAL)
        if not request.cofors or len(request.cofors) > MAX_BATCH:
            raise InvalidArgument([FieldViolation("cofors", f"must hold 1 to {MAX_BATCH} entries")])
        results = await self.registry.validate(list(request.cofors))
        return api.BatchValidateCoforResponse(results=[_validation(r) for r in results])

    async def AnalyzeAccess(self, request: api.AnalyzeAccessRequest, context: Ctx) -> api.AnalyzeAccessResponse:
        self._caller(context, ANY)
        a = await self.registry.analyze(request.cofor, request.site_code)
        return api.AnalyzeAccessResponse(
            outcome=api.AnalysisOutcome.Value(f"ANALYSIS_OUTCOME_{a.outcome.value}"),
            status=api.ANALYSIS_STATUS_OK if a.ok else api.ANALYSIS_STATUS_KO,
            next_step=api.NextStep.Value(f"NEXT_STEP_{a.next_step}"), cofor=a.cofor,
            head_office_cofor=a.head_office_cofor, message_key=a.message_key,
            administrator_names=a.administrator_names)

    async def RequestPortalAccess(self, request: api.RequestPortalAccessRequest,
                                  context: Ctx) -> api.RequestPortalAccessResponse:
        caller = self._caller(context, ANY)
        s, access_request = await self.registry.request_access(
            request.cofor, _contact(request.signatory), _contact(request.administrator), request.request_id,
            self._client(caller, context))
        filed = protos.access_request(access_request, s.head_office_cofor)
        # The caller's own contacts back, never the signatory of record the request was routed to.
        filed.signatory.CopyFrom(request.signatory)
        filed.administrator.CopyFrom(request.administrator)
        return api.RequestPortalAccessResponse(
            access_request=filed,
            portal_access_state=protos.access_state(s.access_state.value))

    async def ResendTermsAcceptance(self, request: api.ResendTermsAcceptanceRequest,
                                    context: Ctx) -> api.ResendTermsAcceptanceResponse:
        caller = self._caller(context, ANY)
        expires = await self.registry.resend_terms(request.cofor, self._client(caller, context))
        return api.ResendTermsAcceptanceResponse(acceptance_expire_time=to_timestamp(expires))

    async def DescribeTermsAcceptance(self, request: api.DescribeTermsAcceptanceRequest,
                                      context: Ctx) -> api.DescribeTermsAcceptanceResponse:
        self._caller(context, ANY)
        view = await self.registry.describe_terms(request.acceptance_token)
        return api.DescribeTermsAcceptanceResponse(
            legal_name=view.legal_name, cofor=view.cofor, signatory_name=view.signatory_name,
            language=view.language, terms_version=view.terms_version, link_valid=view.state.value == "VALID",
            link_state=api.TermsLinkState.Value(f"TERMS_LINK_STATE_{view.state.value}"),
            expire_time=to_timestamp(view.expires_at), administrator=protos.contact(view.administrator),
            requested_from=view.requested_from, request_time=to_timestamp(view.requested_at))

    async def AcceptTerms(self, request: api.AcceptTermsRequest, context: Ctx) -> api.AcceptTermsResponse:
        caller = self._caller(context, ANY)
        s = await self.registry.accept_terms(request.acceptance_token, request.terms_version,
                                             self._client(caller, context))
        return api.AcceptTermsResponse(cofor=s.head_office_cofor, legal_name=s.legal_name,
                                       portal_access_state=protos.access_state(s.access_state.value))


def registrar(servicer: CoforServicer) -> Registrar:
    def register(server: grpc.aio.Server) -> None:
        api_grpc.add_CoforServiceServicer_to_server(servicer, server)
    return register


SERVICE_NAME = api.DESCRIPTOR.services_by_name["CoforService"].full_name
