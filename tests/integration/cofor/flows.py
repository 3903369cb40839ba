"""Steps of a supplier's life, driven through cofor's real gRPC API."""
from __future__ import annotations

import random
import uuid

from google.protobuf.field_mask_pb2 import FieldMask
from portal.cofor.v1 import cofor_service_pb2 as api
from portal.cofor.v1 import supplier_pb2 as pb
from portal.identity.v1 import events_pb2 as identity_events
from portal.support.v1 import events_pb2 as mail_events

from kit.messaging import envelope

from .conftest import Cofor


def new_duns() -> str:
    return f"{random.randrange(10**8, 10**9)}"


def unique_email(tag: str = "x") -> str:
    return f"{tag}.{uuid.uuid4().hex[:10]}@supplier.example"


def contact(tag: str, language: str = "fr") -> pb.Contact:
    return pb.Contact(given_name=tag.capitalize(), family_name="Martin", email=unique_email(tag),
                      phone="+33 1 23 45 67 89", job_title="Director", language=language)


COMPLETE = pb.Presentation(
    legal_name="Forges de Lorraine SA", national_registration_number="RCS 552 100 554", tax_number="FR40303265045",
    head_office_address=pb.Address(lines=["12 rue des Forges"], postal_code="57000", city="Metz", country_code="FR"),
    country_code="FR", legal_existence_proof_ref="kbis-2026-001.pdf",
    legal_representative=pb.Contact(given_name="Anne", family_name="Lorrain", email="anne.lorrain@forges.example",
                                    job_title="Présidente", language="fr"))


async def start(cofor: Cofor, duns: str | None = None, email: str | None = None) -> tuple[pb.Presentation, str]:
    """A new file and its presenter token, as the presenter finds it in the mail (it is never returned)."""
    email = email or unique_email("presenter")
    reply = await cofor.client.StartPresentation(api.StartPresentationRequest(
        duns=duns or new_duns(), email=email, legal_name="Forges de Lorraine", language="fr"))
    assert not reply.presenter_token
    mails = await cofor.mails_to(email, mail_events.EMAIL_TEMPLATE_PRESENTATION_STARTED)
    mine = reply.presentation.presentation_id
    [token] = [s["presenter_token"] for e, s in mails if e.presentation_started.presentation_id == mine]
    return reply.presentation, token


REPRESENTATIVE = pb.Contact(given_name="Anne", family_name="Lorrain", email="anne.lorrain@forges.example",
                            job_title="Présidente", language="fr")


async def submitted(cofor: Cofor) -> tuple[pb.Presentation, str]:
    p, token = await start(cofor)
    filled = pb.Presentation()
    filled.CopyFrom(COMPLETE)
    filled.presentation_id = p.presentation_id
    await cofor.client.UpdatePresentation(api.UpdatePresentationRequest(presentation=filled), bearer=token)
    reply = await cofor.client.SubmitPresentation(api.SubmitPresentationRequest(presentation_id=p.presentation_id),
                                                  bearer=token)
    return reply.presentation, token


async def referenced(cofor: Cofor, representative: pb.Contact | None = None) -> pb.Supplier:
    """A supplier whose signatory of record is ``representative`` (the file's legal representative)."""
    p, token = await start(cofor)
    filled = pb.Presentation()
    filled.CopyFrom(COMPLETE)
    filled.presentation_id = p.presentation_id
    filled.legal_representative.CopyFrom(representative or contact("signatory"))
    await cofor.client.UpdatePresentation(api.UpdatePresentationRequest(presentation=filled), bearer=token)
    await cofor.client.SubmitPresentation(api.SubmitPresentationRequest(presentation_id=p.presentation_id),
                                          bearer=token)
    reply = await cofor.client.ReferenceSupplier(api.ReferenceSupplierRequest(presentation_id=p.presentation_id),
                                                 as_="purchasing")
    return reply.supplier


async def requested(cofor: Cofor) -> tuple[pb.Supplier, pb.Contact, pb.Contact, str]:
    """A referenced supplier whose access is requested by its signatory of record; returns the acceptance
    token from the mail."""
    signatory, administrator = contact("signatory"), contact("admin")
    supplier = await referenced(cofor, signatory)
    await cofor.client.RequestPortalAccess(api.RequestPortalAccessRequest(
        cofor=supplier.cofor_root, signatory=signatory, administrator=administrator))
    [(_, secrets)] = await cofor.mails_to(signatory.email, mail_events.EMAIL_TEMPLATE_TERMS_ACCEPTANCE)
    return supplier, signatory, administrator, secrets["acceptance_token"]


async def terms_accepted(cofor: Cofor) -> tuple[pb.Supplier, pb.Contact]:
    supplier, _, administrator, token = await requested(cofor)
    await cofor.client.AcceptTerms(api.AcceptTermsRequest(acceptance_token=token, terms_version="2026-12"))
    return supplier, administrator


async def publish_identity(cofor: Cofor, subject: str, message: object) -> None:
    await cofor.js.publish(subject, message.SerializeToString(),  # type: ignore[attr-defined]
                           headers={envelope.MSG_ID: str(uuid.uuid4())})


async def opened(cofor: Cofor) -> pb.Supplier:
    """Access OPEN: identity's AdministratorCreated (published here as identity would) reached cofor."""
    supplier, administrator = await terms_accepted(cofor)
    await publish_identity(cofor, "identity.administrator.created", identity_events.AdministratorCreated(
        identifier="V123456", cofor_root=supplier.cofor_root, display_name="Admin Martin"))
    await publish_identity(cofor, "identity.company.administrators_changed",
                           identity_events.ActiveAdministratorsChanged(
        cofor_root=supplier.cofor_root, active_administrator_count=1, revision=1,
        administrators=[identity_events.AdministratorSummary(identifier="V123456", display_name="Admin Martin")]))
    await access_state_becomes(cofor, supplier.cofor_root, pb.PORTAL_ACCESS_STATE_OPEN)
    return supplier


async def access_state_becomes(cofor: Cofor, root: str, state: int) -> pb.Supplier:
    from testing.streams import wait_for

    async def probe() -> pb.Supplier | None:
        s = (await cofor.client.GetSupplier(api.GetSupplierRequest(cofor=root), as_="erp")).supplier
        return s if s.portal_access_state == state else None

    return await wait_for(probe)


def mask(*paths: str) -> FieldMask:
    return FieldMask(paths=list(paths))
