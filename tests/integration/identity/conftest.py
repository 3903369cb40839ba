"""A real identity service on each database, with real NATS; cofor's events are published as cofor would."""
from __future__ import annotations

import datetime as dt
import random
import uuid
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from typing import Any

import grpc
import nats
import pytest
from nats.js import JetStreamContext
from portal.cofor.v1 import events_pb2 as cofor_events
from portal.cofor.v1 import supplier_pb2 as cofor_pb
from portal.identity.v1 import account_pb2 as pb
from portal.identity.v1 import identity_service_pb2 as api
from portal.identity.v1 import identity_service_pb2_grpc
from portal.support.v1 import events_pb2 as mail_events
from sqlalchemy import select

from kit import migrations
from kit.app import ServiceApp
from kit.auth import SERVICE_TOKEN_KEY, agent_metadata
from kit.client import ServiceClient
from kit.messaging import envelope
from kit.messaging.streams import EMAIL_SUBJECT
from kit.messaging.tables import OutboxMessage
from kit.sealed import SealKeyPair, unseal
from testing.authenticator import Authenticator
from testing.clock import Clock
from testing.processes import NatsServer
from testing.streams import read_subject, wait_for

from identity.bootstrap import MIGRATIONS, build_app
from identity.settings import IdentitySettings

TOKENS = {"gateway": "gw-secret", "support": "support-secret", "erp": "erp-secret"}
CREDENTIALS = "gateway:public:gw-secret,support:support:support-secret,erp:internal:erp-secret"
STRONG = "Les sapins de Gérardmer brillent sous la neige"
STRONG_2 = "Un café noisette sur la place Stanislas à Nancy"


@dataclass
class Company:
    root: str
    asl: str
    asl_email: str
    temporary_password: str


@dataclass
class Identity:
    app: ServiceApp
    client: ServiceClient
    js: JetStreamContext
    seal: SealKeyPair
    clock: Clock
    settings: IdentitySettings
    secrets_seen: list[str] = field(default_factory=list)  # every secret the tests handled, for the leak scan
    app_codes: Authenticator = field(default_factory=Authenticator)  # the ASLs' (and users') authenticator apps

    async def mails(self, address: str, template: int, count: int = 1) -> list[tuple[Any, dict[str, str]]]:
        async def probe() -> list[Any]:
            found = []
            for msg in await read_subject(self.js, "NOTIFICATION", "notification.email.requested"):
                event = mail_events.EmailRequested.FromString(msg.data)
                if event.template == template and any(r.address == address for r in event.to):
                    found.append((event, unseal(self.seal.private_key, event.sealed_secrets)))
            return found if len(found) >= count else []
        return await wait_for(probe, timeout=15)

    async def temporary_password(self, address: str, count: int = 1) -> str:
        found = await self.mails(address, mail_events.EMAIL_TEMPLATE_TEMPORARY_PASSWORD, count)
        password = found[-1][1]["temporary_password"]
        self.secrets_seen.append(password)
        return password

    async def activation_token(self, address: str, count: int = 1) -> str:
        """The token of the ``count``-th activation link mailed to ``address`` (a new account's, or a new one)."""
        found = await self.mails(address, mail_events.EMAIL_TEMPLATE_ACCOUNT_ACTIVATION, count)
        token = found[-1][1]["activation_token"]
        self.secrets_seen.append(token)
        return token

    async def activated(self, address: str, chosen: str) -> str:
        """The holder of an account an ASL created chose ``chosen`` through the mailed link, logged in and set up an
        app when the portal asks for one; returns a complete session token."""
        done = await self.client.ActivateAccount(api.ActivateAccountRequest(
            activation_token=await self.activation_token(address), new_password=chosen))
        self.secrets_seen.append(chosen)
        reply = await self.login(done.identifier, chosen)
        if reply.principal.second_factor_step == pb.SECOND_FACTOR_STEP_ENROL:
            return await self.enrol_app(done.identifier, reply.session_token)
        return reply.session_token

    async def publish_cofor(self, subject: str, message: Any, occurred_at: dt.datetime | None = None) -> None:
        headers = {envelope.MSG_ID: str(uuid.uuid4())}
        if occurred_at is not None:
            headers[envelope.OCCURRED_AT] = occurred_at.isoformat()
        await self.js.publish(subject, message.SerializeToString(), headers=headers)

    async def company(self, *, open_access: bool = True, language: str = "fr") -> Company:
        """A referenced supplier whose GTU were accepted (identity creates the ASL), access opened."""
        root = "".join(random.choice("ABCDEFGHJKLMNPQRSTUVWXYZ0123456789") for _ in range(6))
        email = f"asl.{uuid.uuid4().hex[:8]}@{root.lower()}.example"
        await self.publish_cofor("cofor.supplier.referenced", cofor_events.SupplierReferenced(
            cofor_root=root, head_office_cofor=f"{root}  01", legal_name=f"Company {root}"))
        await self.publish_cofor("cofor.access.terms_accepted", cofor_events.TermsAccepted(
            cofor_root=root, legal_name=f"Company {root}", access_request_id=str(uuid.uuid4()),
            administrator=cofor_pb.Contact(given_name="Alice", family_name="Admin", email=email,
                                           phone="+33 1 23 45 67 89", job_title="IT", language=language)))
        [(welcome, _)] = await self.mails(email, mail_events.EMAIL_TEMPLATE_ADMINISTRATOR_WELCOME)
        password = await self.temporary_password(email)
        if open_access:
            await self.open(root)
        return Company(root, welcome.administrator_welcome.identifier, email, password)

    async def open(self, root: str) -> None:
        await self.publish_cofor("cofor.access.opened", cofor_events.AccessOpened(cofor_root=root))
        await self.until_company(root, access_open=True)

    async def until_company(self, root: str, **expected: object) -> None:
        from sqlalchemy import select

        from identity.adapters.orm import companies

        async def probe() -> bool:
            async with self.app.database.session(readonly=True) as s, s.begin():
                row = (await s.execute(select(companies).where(companies.c.cofor_root == root))).mappings().first()
            return row is not None and all(row[k] == v for k, v in expected.items())
        await wait_for(probe, timeout=15)

    async def as_support(self, method: str, request: Any, agent: str | None = "Jeanne from support") -> Any:
        """A support-staff call that names its agent (``x-portal-agent``; None: no agent at all)."""
        metadata = [(SERVICE_TOKEN_KEY, TOKENS["support"])] + ([agent_metadata(agent)] if agent is not None else [])
        return await getattr(self.client.stub, method)(request, metadata=metadata, timeout=15)

    async def login(self, identifier: str, password: str, client: str | None = None) -> api.LoginResponse:
        """The whole login: the password, then (for an account whose app this test holds) a code of the app."""
        reply = await self.password_step(identifier, password, client)
        if reply.principal.second_factor_step != pb.SECOND_FACTOR_STEP_VERIFY or not self.app_codes.holds(identifier):
            return reply
        verified = await self.client.VerifySecondFactor(api.VerifySecondFactorRequest(
            kind=pb.SECOND_FACTOR_KIND_TOTP, code=self.app_code(identifier)), bearer=reply.session_token, client=client)
        self.secrets_seen.append(verified.session_token)
        return api.LoginResponse(session_token=verified.session_token, expire_time=verified.expire_time,
                                 idle_expire_time=verified.idle_expire_time, principal=verified.principal,
                                 must_change_password=verified.principal.must_change_password)

    async def password_step(self, identifier: str, password: str, client: str | None = None) -> api.LoginResponse:
        self.secrets_seen.append(password)
        reply = await self.client.Login(api.LoginRequest(identifier=identifier, password=password), client=client)
        self.secrets_seen.append(reply.session_token)
        return reply

    def app_code(self, identifier: str) -> str:
        """A fresh code of the account's app; past three in one 30-second step, the test clock moves on."""
        code = self.app_codes.code(identifier, self.clock())
        if code is None:
            self.clock.offset += dt.timedelta(seconds=self.app_codes.seconds_to_next_code(self.clock()))
            code = self.app_codes.code(identifier, self.clock())
        assert code is not None
        return code

    async def enrol_app(self, identifier: str, token: str) -> str:
        """The account sets up an authenticator app (the session must allow it); returns the complete session."""
        started = await self.client.BeginTotpEnrolment(api.BeginTotpEnrolmentRequest(), bearer=token)
        self.app_codes.add(identifier, started.secret)
        confirmed = await self.client.ConfirmTotpEnrolment(api.ConfirmTotpEnrolmentRequest(
            code=self.app_code(identifier)), bearer=token)
        self.secrets_seen += [started.secret, confirmed.session_token, *confirmed.recovery_codes]
        return confirmed.session_token

    async def first_login(self, identifier: str, temporary: str, chosen: str) -> str:
        """Logged in with a temporary password, changed it, and set up an app when the portal asks for one (every
        ASL; a user of a company that requires it); returns a complete session token."""
        first = await self.login(identifier, temporary)
        changed = await self.client.ChangePassword(api.ChangePasswordRequest(
            current_password=temporary, new_password=chosen), bearer=first.session_token)
        self.secrets_seen += [chosen, changed.session_token]
        if changed.principal.second_factor_step == pb.SECOND_FACTOR_STEP_ENROL:
            return await self.enrol_app(identifier, changed.session_token)
        return changed.session_token

    async def ready_asl(self, company: Company) -> str:
        """The ASL logged in, changed the temporary password and set up its app; returns a complete session token."""
        token = await self.first_login(company.asl, company.temporary_password, STRONG)
        assert self.app_codes.holds(company.asl)  # every ASL, right after the change
        return token


@pytest.fixture
async def identity(database_url: str, nats_server: NatsServer) -> AsyncIterator[Identity]:
    await migrations.upgrade(database_url, MIGRATIONS)
    seal = SealKeyPair.generate()
    clock = Clock()
    nc = await nats_server.connect()  # the test administrator
    js = nc.jetstream()
    # Start from empty streams and a new consumer: no earlier test's events are replayed into this database.
    for stream in ("COFOR", "NOTIFICATION", "IDENTITY"):
        await js.purge_stream(stream)
    try:
        await js.delete_consumer("COFOR", "identity-cofor-events")
    except nats.js.errors.NotFoundError:
        pass
    settings = IdentitySettings(
        grpc_port=0, database_url=database_url, **nats_server.settings("identity"), service_credentials=CREDENTIALS,
        mail_seal_public_key=seal.public_key, relay_poll_seconds=0.2, shutdown_grace_seconds=0.5,
        argon2_memory_kib=1024, argon2_time_cost=1)  # cheap hashes: these tests are about behaviour
    app = build_app(settings, clock=clock)
    await app.start()
    channel = grpc.aio.insecure_channel(app.target)
    try:
        yield Identity(app, ServiceClient(identity_service_pb2_grpc.IdentityServiceStub(channel), TOKENS), js, seal,
                       clock, settings)
    finally:
        await channel.close()
        await app.stop()
        await nc.close()


@pytest.fixture
async def second_server(identity: Identity) -> AsyncIterator[ServiceClient]:
    """Another identity server on the same database (its own connection pool)."""
    other = build_app(identity.settings, clock=identity.clock)
    await other.start()
    channel = grpc.aio.insecure_channel(other.target)
    try:
        yield ServiceClient(identity_service_pb2_grpc.IdentityServiceStub(channel), TOKENS)
    finally:
        await channel.close()
        await other.stop()


async def outbox_mails(identity: Identity, template: int | None = None) -> list[mail_events.EmailRequested]:
    """The mails requested so far (written in the call's own transaction: no waiting)."""
    async with identity.app.database.session(readonly=True) as s, s.begin():
        payloads = (await s.scalars(select(OutboxMessage.payload).where(OutboxMessage.subject == EMAIL_SUBJECT))).all()
    found = [mail_events.EmailRequested.FromString(p) for p in payloads]
    return [m for m in found if template is None or m.template == template]
