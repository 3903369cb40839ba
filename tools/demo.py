"""Demo data for `make run` (development only): one supplier at every stage of the get-access analysis, an open
company with its ASL and a user whose passwords are printed, and a company file waiting for purchasing.

Everything goes through the public and operator APIs and the real mails (read from the local SMTP sink), exactly
as people would do it; nothing is written into a database directly."""
from __future__ import annotations

import asyncio
import re
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from email.message import EmailMessage
from typing import Any

import grpc
import pyotp
from portal.cofor.v1 import cofor_service_pb2 as cofor
from portal.cofor.v1 import cofor_service_pb2_grpc as cofor_grpc
from portal.cofor.v1 import supplier_pb2 as cofor_pb
from portal.identity.v1 import account_pb2 as identity_pb
from portal.identity.v1 import identity_service_pb2 as identity
from portal.identity.v1 import identity_service_pb2_grpc as identity_grpc

from kit.auth import AUTHORIZATION_KEY, SERVICE_TOKEN_KEY

ASL_PASSWORD = "Démo ASL : les sapins de Gérardmer 2026"
USER_PASSWORD = "Démo utilisateur : café noisette place Stanislas"
Mailbox = Callable[[str], list[EmailMessage]]


@dataclass
class Demo:
    lines: list[str]

    def text(self) -> str:
        return "\n".join(self.lines)


class Seeder:
    def __init__(self, cofor_target: str, identity_target: str, operator_token: str, mailbox: Mailbox) -> None:
        self._channels = [grpc.aio.insecure_channel(cofor_target), grpc.aio.insecure_channel(identity_target)]
        self.cofor = cofor_grpc.CoforServiceStub(self._channels[0])
        self.identity = identity_grpc.IdentityServiceStub(self._channels[1])
        self.meta = [(SERVICE_TOKEN_KEY, operator_token)]
        self.mailbox = mailbox
        self.duns = 730_000_000 + uuid.uuid4().int % 60_000_000
        self.apps: dict[str, tuple[str, list[str]]] = {}  # V-identifier → (app key, recovery codes)

    async def close(self) -> None:
        for channel in self._channels:
            await channel.close()

    async def mail(self, address: str, pattern: str, count: int = 1) -> str:
        for _ in range(300):
            bodies = [m.get_body(preferencelist=("plain",)).get_content() for m in self.mailbox(address)]  # type: ignore[union-attr]
            found = [re.search(pattern, b, re.M) for b in bodies]
            matches = [f.group(1) for f in found if f]
            if len(matches) >= count:
                return matches[count - 1]
            await asyncio.sleep(0.1)
        raise TimeoutError(f"no mail to {address} matching {pattern}")

    async def submitted(self, name: str, email: str) -> str:
        """A company file opened from the mailed link (the token is never returned) and submitted; its legal
        representative is ``signataire@`` the presenter's domain, who becomes the signatory of record."""
        self.duns += 1
        started = await self.cofor.StartPresentation(cofor.StartPresentationRequest(
            duns=str(self.duns), email=email, legal_name=name), metadata=self.meta)
        token = await self.mail(email, r"token=([\w-]+)")
        presenter = [*self.meta, (AUTHORIZATION_KEY, f"Bearer {token}")]
        file = cofor_pb.Presentation(
            presentation_id=started.presentation.presentation_id, national_registration_number=f"RCS {self.duns}",
            tax_number=f"FR{self.duns}", country_code="FR", legal_existence_proof_ref="extrait-kbis.pdf",
            head_office_address=cofor_pb.Address(lines=["1 rue de l'Industrie"], postal_code="57000", city="Metz",
                                                 country_code="FR"),
            legal_representative=cofor_pb.Contact(given_name="Claire", family_name="Signataire",
                                                  email=f"signataire@{email.split('@')[1]}",
                                                  job_title="Directrice générale", language="fr"))
        await self.cofor.UpdatePresentation(cofor.UpdatePresentationRequest(presentation=file), metadata=presenter)
        await self.cofor.SubmitPresentation(cofor.SubmitPresentationRequest(
            presentation_id=file.presentation_id), metadata=presenter)
        return file.presentation_id

    async def referenced(self, name: str, email: str) -> str:
        file_id = await self.submitted(name, email)
        supplier = await self.cofor.ReferenceSupplier(cofor.ReferenceSupplierRequest(presentation_id=file_id),
                                                      metadata=self.meta)
        return supplier.supplier.cofor_root

    async def requested(self, root: str, slug: str, asl: tuple[str, str]) -> tuple[str, str]:
        signatory, admin = f"signataire@{slug}.example", f"{asl[0].lower()}.{asl[1].lower()}@{slug}.example"
        contact: dict[str, Any] = dict(phone="+33 3 87 00 00 00", language="fr")
        await self.cofor.RequestPortalAccess(cofor.RequestPortalAccessRequest(
            cofor=root, signatory=cofor_pb.Contact(given_name="Claire", family_name="Signataire", email=signatory,
                                                   job_title="Directrice générale", **contact),
            administrator=cofor_pb.Contact(given_name=asl[0], family_name=asl[1], email=admin,
                                           job_title="Responsable informatique", **contact)), metadata=self.meta)
        return signatory, admin

    async def opened(self, root: str, slug: str, asl: tuple[str, str]) -> tuple[str, str]:
        signatory, admin = await self.requested(root, slug, asl)
        token = await self.mail(signatory, r"token=([\w-]+)")
        await self.cofor.AcceptTerms(cofor.AcceptTermsRequest(acceptance_token=token, terms_version="2026-12"),
                                     metadata=self.meta)
        for _ in range(300):
            analysis = await self.cofor.AnalyzeAccess(cofor.AnalyzeAccessRequest(cofor=root), metadata=self.meta)
            if analysis.outcome == cofor.ANALYSIS_OUTCOME_ACCESS_OPEN:
                break
            await asyncio.sleep(0.1)
        return admin, await self.mail(admin, r"\b(V\d{6})\b")

    async def first_login(self, identifier: str, email: str, password: str) -> str:
        temporary = await self.mail(email, r"^\s*([A-Za-z2-9]{20})\s*$")
        for _ in range(100):  # identity learns that the access is open a moment after cofor
            try:
                session = await self.identity.Login(identity.LoginRequest(identifier=identifier, password=temporary),
                                                    metadata=self.meta)
                break
            except grpc.aio.AioRpcError as error:
                if "COMPANY_ACCESS_CLOSED" not in (error.details() or "") and error.code() != \
                        grpc.StatusCode.PERMISSION_DENIED:
                    raise
                await asyncio.sleep(0.1)
        changed = await self.identity.ChangePassword(identity.ChangePasswordRequest(
            current_password=temporary, new_password=password),
            metadata=[*self.meta, (AUTHORIZATION_KEY, f"Bearer {session.session_token}")])
        return await self._enrolled(identifier, changed.session_token, changed.principal)

    async def activated(self, identifier: str, email: str, password: str) -> str:
        """A user the ASL created chooses ``password`` through the mailed activation link, then logs in."""
        token = await self.mail(email, r"/activate\?token=([\w-]+)")
        await self.identity.ActivateAccount(identity.ActivateAccountRequest(
            activation_token=token, new_password=password), metadata=self.meta)
        session = await self.identity.Login(identity.LoginRequest(identifier=identifier, password=password),
                                            metadata=self.meta)
        return await self._enrolled(identifier, session.session_token, session.principal)

    async def _enrolled(self, identifier: str, token: str, principal: identity_pb.Principal) -> str:
        """The session, once the app the portal asks for (every ASL's) is set up."""
        if principal.second_factor_step != identity_pb.SECOND_FACTOR_STEP_ENROL:
            return token
        # Every ASL sets up an authenticator app: the demo's is a software one whose key is printed.
        bearer = [*self.meta, (AUTHORIZATION_KEY, f"Bearer {token}")]
        started = await self.identity.BeginTotpEnrolment(identity.BeginTotpEnrolmentRequest(), metadata=bearer)
        confirmed = await self.identity.ConfirmTotpEnrolment(identity.ConfirmTotpEnrolmentRequest(
            code=pyotp.TOTP(started.secret).now()), metadata=bearer)
        self.apps[identifier] = (started.secret, list(confirmed.recovery_codes))
        return confirmed.session_token


async def seed(cofor_target: str, identity_target: str, operator_token: str, mailbox: Mailbox,
               portal_url: str) -> Demo:
    s = Seeder(cofor_target, identity_target, operator_token, mailbox)
    try:
        open_root = await s.referenced("Forges de Lorraine SA", "dossier@forges-lorraine.example")
        admin_email, asl = await s.opened(open_root, "forges-lorraine", ("Paul", "Durand"))
        session = await s.first_login(asl, admin_email, ASL_PASSWORD)
        user_email = "emma.martin@forges-lorraine.example"
        created = await s.identity.CreateUser(identity.CreateUserRequest(
            given_name="Emma", family_name="Martin", email=user_email, job_title="Acheteuse", language="fr",
            role=identity_pb.ROLE_USER), metadata=[*s.meta, (AUTHORIZATION_KEY, f"Bearer {session}")])
        user = created.account.identifier
        await s.activated(user, user_email, USER_PASSWORD)

        not_requested = await s.referenced("Aciéries du Nord", "dossier@acieries-nord.example")
        await s.cofor.AddSite(cofor.AddSiteRequest(cofor_root=not_requested, name="Usine de Denain"),
                              metadata=s.meta)
        terms_pending = await s.referenced("Boulonnerie Picarde", "dossier@boulonnerie.example")
        signatory, _ = await s.requested(terms_pending, "boulonnerie", ("Luc", "Bernard"))
        under_review = await s.referenced("Tôlerie Vosgienne", "dossier@tolerie.example")
        await s.requested(under_review, "autre-domaine", ("Marc", "Petit"))  # names someone else: purchasing checks
        suspended = await s.referenced("Plasturgie Alsacienne", "dossier@plasturgie.example")
        await s.opened(suspended, "plasturgie", ("Nina", "Klein"))
        await s.cofor.SuspendPortalAccess(cofor.SuspendPortalAccessRequest(cofor_root=suspended, reason="démo"),
                                          metadata=s.meta)
        deactivated = await s.referenced("Fonderie Ancienne", "dossier@fonderie.example")
        await s.cofor.DeactivateSupplier(cofor.DeactivateSupplierRequest(cofor_root=deactivated,
                                                                         reason="société dissoute"), metadata=s.meta)
        waiting = await s.submitted("Nouvelle Société", "dossier@nouvelle-societe.example")
    finally:
        await s.close()
    secret, codes = s.apps[asl]
    return Demo([
        "Demo data (development only; passwords shown because they are demo passwords):",
        f"  access OPEN          {open_root}  Forges de Lorraine SA — ASL {asl} / {ASL_PASSWORD}",
        f"                                   ASL's authenticator app key: {secret} (add it to a phone app, or get",
        f"                                   the code now: .venv/bin/python -c \"import pyotp; print(pyotp.TOTP("
        f"'{secret}').now())\")",
        f"                                   ASL's recovery codes: {', '.join(codes[:3])}, ...",
        f"                                   user {user} / {USER_PASSWORD}",
        f"  ACCESS_NOT_REQUESTED {not_requested}  Aciéries du Nord (site 02 = not eligible: {not_requested}02)",
        f"  TERMS_PENDING        {terms_pending}  Boulonnerie Picarde (GTU link mailed to {signatory}, the "
        "signatory of record)",
        f"  UNDER_REVIEW         {under_review}  Tôlerie Vosgienne (the request names someone else: "
        f"portalctl cofor requests; portalctl cofor review {under_review} --approve|--decline ...)",
        f"  ACCESS_SUSPENDED     {suspended}  Plasturgie Alsacienne",
        f"  SUPPLIER_DEACTIVATED {deactivated}  Fonderie Ancienne",
        "  INVALID_COFOR        ZZZZZZ",
        f"  a submitted company file waits for purchasing: {waiting} "
        "(portalctl cofor presentations --state SUBMITTED; portalctl cofor reference <id>)",
        f"  try: {portal_url}fr/access  ·  mails: {portal_url}dev/mailbox",
    ])
