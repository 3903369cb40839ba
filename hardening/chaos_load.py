"""The chaos suite's load (hardening/chaos.py): mixed flows of suppliers (company file, referencing, access, terms,
the ASL's first steps, recovery, off-boarding and comeback) and tickets, each call retried through crashes with the
same request."""
from __future__ import annotations

import asyncio
import itertools
import random
import re
import time
import uuid
from collections import Counter
from typing import Any

import grpc
from portal.cofor.v1 import cofor_service_pb2 as cofor_api
from portal.cofor.v1 import supplier_pb2 as cofor_pb
from portal.identity.v1 import account_pb2 as account_pb
from portal.identity.v1 import identity_service_pb2 as identity_api
from portal.support.v1 import support_service_pb2 as support_api
from portal.support.v1 import ticket_pb2 as ticket_pb

from kit.auth import AUTHORIZATION_KEY
from kit.client import failure_of
from testing.authenticator import Authenticator
from testing.fleet import Mailbox, Replicas

TICKET_SHARE = 0.75  # of the flows started; a supplier's flow is about nine operations, a ticket one
# Of the suppliers' flows: the ASL logs in and creates users; a lost identifier; off-boarding; then a comeback.
CONSOLE_SHARE, RECOVERY_SHARE, DEACTIVATE_SHARE, REACTIVATE_SHARE = 0.5, 0.3, 0.3, 0.5
TERMS_VERSION = "2026-12"
MAIL_WAIT = 180.0  # a flow waits this long for a mail it needs (the mailer may be down meanwhile)


class Spent(Exception):
    """The operation budget is used up: the flow stops where it is."""


class Aborted(Exception):
    """An operation failed for good: the rest of the flow is skipped."""


class Load:
    """The mixed operations. Each call is retried through crashes with the same request (and request_id)."""

    def __init__(self, services: dict[str, Replicas], mailbox: Mailbox, budget: int, presenter: Replicas) -> None:
        self.services = services
        self.presenter = presenter  # cofor, called as the presenter's browser would (through a public caller)
        self.mailbox = mailbox
        self.budget = budget
        self.ops = 0
        self.mix: Counter[str] = Counter()
        self.retried = 0  # operations that needed more than one attempt
        self.answers_lost = 0  # retried operations whose first attempt had committed (expected business answer)
        self.failed: Counter[str] = Counter()
        self.stalled: Counter[str] = Counter()  # mails a flow waited for in vain
        self.flows = itertools.count()
        self.app_codes = Authenticator()  # the ASLs' authenticator apps

    async def op(self, service: str, method: str, request: Any, *, bearer: str = "",
                 after_retry: frozenset[str] = frozenset(), not_yet: frozenset[str] = frozenset()) -> Any:
        """The reply; None when a retry met ``after_retry`` (the first attempt committed, its answer was lost).
        ``not_yet``: answers that mean another service's event has not arrived yet: ask again a little later."""
        if self.ops >= self.budget:
            raise Spent
        self.ops += 1
        self.mix[method] += 1
        metadata = [(AUTHORIZATION_KEY, f"Bearer {bearer}")] if bearer else []
        tries: list[grpc.StatusCode] = []
        deadline = time.monotonic() + MAIL_WAIT
        try:
            while True:
                try:
                    return await self.services[service].call(method, request, metadata=metadata, tries=tries)
                except grpc.aio.AioRpcError as error:
                    if failure_of(error).reason not in not_yet or time.monotonic() > deadline:
                        raise
                await asyncio.sleep(0.5)
        except grpc.aio.AioRpcError as error:
            reason = failure_of(error).reason
            if tries and reason in after_retry:
                self.answers_lost += 1
                return None
            self.failed[f"{method} {error.code().name} {reason}".strip()] += 1
            raise Aborted from error
        finally:
            self.retried += bool(tries)

    async def mails(self, address: str, count: int, what: str) -> list[Any]:
        try:
            return [m.message for m in await self.mailbox.wait(address, count, timeout=MAIL_WAIT)]
        except AssertionError:
            self.stalled[what] += 1
            raise Aborted from None

    async def presenter_token(self, presenter: str, file_id: str) -> str:
        """The token is only mailed, and a start retried through a crash mails a fresh one (voiding the first):
        the newest mailed token that opens the file."""
        await self.mails(presenter, 1, "presenter link")
        for _ in range(30):  # a fresh link's mail may come a while after the voided one's
            for mail in reversed(self.mailbox.to(presenter)):
                token = re.search(r"token=([\w-]+)", mail.message.get_content()).group(1)  # type: ignore[union-attr]
                try:  # a probe, not an operation of the mix: a voided token is expected here
                    await self.presenter.call("GetPresentation", cofor_api.GetPresentationRequest(
                        presentation_id=file_id), metadata=[(AUTHORIZATION_KEY, f"Bearer {token}")])
                    return token
                except grpc.aio.AioRpcError as error:
                    if error.code() != grpc.StatusCode.UNAUTHENTICATED:
                        raise
            await asyncio.sleep(1)
        raise Aborted

    async def worker(self) -> None:
        while self.ops < self.budget:
            k = next(self.flows)
            try:
                await (self.ticket(k) if random.random() < TICKET_SHARE else self.supplier(k))
            except Spent:
                return
            except Aborted:
                continue

    async def ticket(self, k: int) -> None:
        await self.op("support", "CreateTicket", support_api.CreateTicketRequest(
            category=random.choice([c for c in ticket_pb.TicketCategory.values() if c]), subject=f"Question {k}",
            text="Hello, I cannot find my way.", request_id=str(uuid.uuid4()), contact=ticket_pb.TicketContact(
                name=f"Requester {k}", email=f"requester{k}@t.chaos.example", phone="+33 1 23 45 67 89",
                company=f"Company {k}", language=random.choice(["fr", "en"]))))

    async def supplier(self, k: int) -> None:
        """Present the company, get referenced, request access, accept the terms; then maybe the ASL's first steps
        (log in, change the password, create users), a lost-identifier request, a deactivation, a reactivation."""
        domain = f"s{k}.chaos.example"
        language = random.choice(["fr", "en"])
        started = await self.op("cofor", "StartPresentation", cofor_api.StartPresentationRequest(
            duns=f"{k:09d}", email=f"presenter@{domain}", legal_name=f"Chaos Supplier {k}", language=language,
            request_id=str(uuid.uuid4())))
        file_id = started.presentation.presentation_id
        bearer = await self.presenter_token(f"presenter@{domain}", file_id)
        signatory, admin = f"signatory@{domain}", f"asl@{domain}"
        await self.op("cofor", "UpdatePresentation", cofor_api.UpdatePresentationRequest(
            presentation=cofor_pb.Presentation(
                presentation_id=file_id, national_registration_number=f"REG{k}", tax_number=f"TAX{k}",
                country_code="FR", legal_existence_proof_ref="kbis.pdf", head_office_address=cofor_pb.Address(
                    lines=["1 rue des Forges"], postal_code="57000", city="Metz", country_code="FR"),
                legal_representative=cofor_pb.Contact(given_name="Sam", family_name=f"Signer{k}", email=signatory,
                                                      job_title="Director", language=language))), bearer=bearer)
        await self.op("cofor", "SubmitPresentation", cofor_api.SubmitPresentationRequest(presentation_id=file_id),
                      bearer=bearer)
        root = (await self.op("cofor", "ReferenceSupplier", cofor_api.ReferenceSupplierRequest(
            presentation_id=file_id, request_id=str(uuid.uuid4())))).supplier.cofor_root
        contact = dict(phone="+33 1 23 45 67 89", job_title="Director", language=language)
        await self.op("cofor", "RequestPortalAccess", cofor_api.RequestPortalAccessRequest(
            cofor=root, request_id=str(uuid.uuid4()),
            signatory=cofor_pb.Contact(given_name="Sam", family_name=f"Signer{k}", email=signatory, **contact),
            administrator=cofor_pb.Contact(given_name="Ada", family_name=f"Admin{k}", email=admin, **contact)))
        [link] = await self.mails(signatory, 1, "terms link")
        token = re.search(r"token=([\w-]+)", link.get_content()).group(1)  # type: ignore[union-attr]
        await self.op("cofor", "AcceptTerms", cofor_api.AcceptTermsRequest(
            acceptance_token=token, terms_version=TERMS_VERSION), after_retry=frozenset({"ACCEPTANCE_TOKEN_USED"}))
        if random.random() < CONSOLE_SHARE:
            await self.administrator_console(k, admin, domain)
        if random.random() < RECOVERY_SHARE:
            await self.op("identity", "RecoverIdentifier", identity_api.RecoverIdentifierRequest(
                email=admin, cofor=root))
        if random.random() < DEACTIVATE_SHARE:
            await self.mails(admin, 2, "ASL credentials")  # the ASL exists before its company is off-boarded
            await self.op("cofor", "DeactivateSupplier", cofor_api.DeactivateSupplierRequest(
                cofor_root=root, reason="chaos off-boarding"))
            if random.random() < REACTIVATE_SHARE:
                await self.op("cofor", "ReactivateSupplier", cofor_api.ReactivateSupplierRequest(cofor_root=root))

    async def administrator_console(self, k: int, admin: str, domain: str) -> None:
        identifiers: list[str] = []
        temporaries: list[str] = []
        for count in range(2, 6):  # a mailer killed mid-send may deliver one of the two mails twice (same Message-ID)
            bodies = [m.get_content() for m in await self.mails(admin, count, "ASL credentials")]
            identifiers = [m.group(1) for b in bodies if (m := re.search(r"\b(V\d{6})\b", b))]
            temporaries = [m.group(1) for b in bodies if (m := re.search(r"^\s*([A-Za-z2-9]{20})\s*$", b, re.M))]
            if identifiers and temporaries:
                break
        if not (identifiers and temporaries):
            self.stalled["ASL credentials"] += 1
            raise Aborted
        identifier, temporary = identifiers[0], temporaries[0]
        # Login needs the company gate open: identity learns it from cofor's access.opened, a moment later.
        opened = await self.op("identity", "Login", identity_api.LoginRequest(
            identifier=identifier, password=temporary), not_yet=frozenset({"COMPANY_ACCESS_CLOSED"}))
        chosen = f"Chaos {uuid.uuid4().hex[:10]} sous la neige de Gérardmer"
        changed = await self.op("identity", "ChangePassword", identity_api.ChangePasswordRequest(
            current_password=temporary, new_password=chosen), bearer=opened.session_token,
            after_retry=frozenset({"SESSION_INVALID"}))  # the change committed, and revoked the old session
        if changed is None:
            changed = await self.op("identity", "Login", identity_api.LoginRequest(identifier=identifier,
                                                                                   password=chosen))
        token = await self.enrol_app(identifier, chosen, changed.session_token)
        for n in range(random.randint(1, 3)):
            await self.op("identity", "CreateUser", identity_api.CreateUserRequest(
                given_name="Uma", family_name=f"User{k}x{n}", email=f"user{n}@{domain}", job_title="Buyer",
                language=random.choice(["fr", "en"]), request_id=str(uuid.uuid4())), bearer=token)

    async def enrol_app(self, identifier: str, password: str, token: str) -> str:
        """Every ASL sets up an authenticator app after the first change; returns a complete session. A confirmation
        retried through a crash may find it done (and the caller's session ended): then a login with a code."""
        started = await self.op("identity", "BeginTotpEnrolment", identity_api.BeginTotpEnrolmentRequest(),
                                bearer=token)
        self.app_codes.add(identifier, started.secret)
        confirmed = await self.op("identity", "ConfirmTotpEnrolment", identity_api.ConfirmTotpEnrolmentRequest(
            code=await self.app_codes.next_code(identifier)), bearer=token,
            after_retry=frozenset({"SECOND_FACTOR_NOT_STARTED", "SESSION_INVALID"}))
        if confirmed is not None:
            return str(confirmed.session_token)
        pending = await self.op("identity", "Login", identity_api.LoginRequest(identifier=identifier,
                                                                               password=password))
        verified = await self.op("identity", "VerifySecondFactor", identity_api.VerifySecondFactorRequest(
            kind=account_pb.SECOND_FACTOR_KIND_TOTP, code=await self.app_codes.next_code(identifier)),
            bearer=pending.session_token)
        return str(verified.session_token)


