"""The fuzz suite's scenario (hardening/fuzz.py): made through the real APIs with portalctl's demo seeder, and
repaired whenever a generated request broke it (a session revoked, an account blocked or disabled, a company
deactivated)."""
from __future__ import annotations

import contextlib
import logging
import uuid

import grpc
from portal.cofor.v1 import cofor_service_pb2 as cofor_api
from portal.identity.v1 import account_pb2 as identity_pb
from portal.identity.v1 import identity_service_pb2 as identity_api
from portal.support.v1 import support_service_pb2 as support_api
from portal.support.v1 import ticket_pb2 as ticket_pb

from hardening.fuzz_system import FuzzedSystem, Scenario
from kit.auth import agent_metadata
from testing import protofuzz

from tools.demo import ASL_PASSWORD, USER_PASSWORD, Seeder


class SeededSystem(FuzzedSystem):
    """The fuzzed system with its scenario: started, kept usable."""

    async def start(self) -> None:
        await self.connect()
        cofor, identity = (self.service_target[f"{p}.{s}"] for p, s in (
            ("portal.cofor.v1", "CoforService"), ("portal.identity.v1", "IdentityService")))
        self.seeder = Seeder(cofor, identity, self.tokens["operator"], self.mailbox)
        self.scenario = await self.onboard()
        await self.scene_extras()
        logging.getLogger("kit.grpc_server").addHandler(self.errors)

    async def onboard(self) -> Scenario:
        """A referenced supplier, access OPEN, its ASL and a user logged in past their temporary passwords."""
        assert self.seeder is not None
        number = (self.scenario.companies + 1) if self.scenario else 1
        root = await self.seeder.referenced(f"Fuzz Industries {number}", f"file{number}@fuzz{number}.example")
        asl_email, asl = await self.seeder.opened(root, f"fuzz{number}", ("Paul", "Durand"))
        asl_token = await self.seeder.first_login(asl, asl_email, ASL_PASSWORD)
        user, user_email, user_token = await self.new_user(asl_token, f"fuzz{number}")
        old = self.scenario
        return Scenario(root, asl, user, user_email,
                        {**(old.tokens if old else {}), "asl": asl_token, "user": user_token},
                        {**(old.passwords if old else {}), asl: ASL_PASSWORD, user: USER_PASSWORD}, number,
                        old.presentation if old else "", old.ticket if old else "")

    async def new_user(self, asl_token: str, slug: str) -> tuple[str, str, str]:
        assert self.seeder is not None
        email = f"user.{uuid.uuid4().hex[:12]}@{slug}.example"  # not random: hypothesis seeds it in each example
        created = await self.rpc("IdentityService", "CreateUser")(identity_api.CreateUserRequest(
            given_name="Emma", family_name="Martin", email=email, job_title="Buyer", language="fr",
            role=identity_pb.ROLE_USER), metadata=self.meta(asl_token))
        identifier = created.account.identifier
        return identifier, email, await self.seeder.activated(identifier, email, USER_PASSWORD)

    async def scene_extras(self) -> None:
        """A company whose terms are pending (with its link), a suspended one, two submitted files and a started
        one, a ticket."""
        assert self.seeder is not None and self.scenario is not None
        pending = await self.seeder.referenced("Boulonnerie Fuzz", "file@pending.example")
        signatory, _ = await self.seeder.requested(pending, "pending", ("Luc", "Bernard"))
        self.scenario.tokens["acceptance"] = await self.seeder.mail(signatory, r"token=([\w-]+)")
        suspended = await self.seeder.referenced("Plasturgie Fuzz", "file@suspended.example")
        await self.seeder.opened(suspended, "suspended", ("Nina", "Klein"))
        await self.rpc("CoforService", "SuspendPortalAccess")(cofor_api.SuspendPortalAccessRequest(
            cofor_root=suspended, reason="fuzz"), metadata=self.meta())
        for n in range(2):
            await self.seeder.submitted(f"Dossier Fuzz {n}", f"file{n}@waiting.example")
        started = await self.rpc("CoforService", "StartPresentation")(cofor_api.StartPresentationRequest(
            duns="123456789", email="presenter@started.example", legal_name="Début SA"), metadata=self.meta())
        self.scenario.tokens["presenter"] = await self.seeder.mail("presenter@started.example", r"token=([\w-]+)")
        self.scenario.presentation = started.presentation.presentation_id
        ticket = await self.rpc("SupportService", "CreateTicket")(support_api.CreateTicketRequest(
            category=ticket_pb.TICKET_CATEGORY_LOGIN_PROBLEM, subject="Cannot log in", text="Blocked since Monday",
            screenshot=ticket_pb.Screenshot(filename="s.png", content_type="image/png",
                                            data=protofuzz.images()["png"]),
            contact=ticket_pb.TicketContact(name="Emma Martin", email=self.scenario.user_email, phone="+33 1 23 45",
                                            company="Fuzz", identifier=self.scenario.user, cofor=self.scenario.root,
                                            language="fr")), metadata=self.meta())
        self.scenario.ticket = ticket.ticket.reference
        topics = [t.id for language in ("fr", "en") for t in (await self.rpc("SupportService", "ListHelpTopics")(
            support_api.ListHelpTopicsRequest(language=language), metadata=self.meta())).topics]
        self.extra_seeds.update(id=topics, language=["fr", "en"], terms_version=["2026-12"], reason=["Dossier complet"],
                                site_code=["01", "02", "07", ""], page_token=[""])  # "" is the first page

    # ---- the scenario stays usable --------------------------------------------------------------------------

    async def session_works(self, role: str, administrator: bool) -> bool:
        assert self.scenario is not None
        try:
            valid = await self.rpc("IdentityService", "ValidateSession")(identity_api.ValidateSessionRequest(
                session_token=self.scenario.tokens[role]), metadata=self.meta())
        except grpc.aio.AioRpcError:
            return False
        roles = valid.principal.roles
        return not valid.principal.must_change_password and (
            not administrator or identity_pb.ROLE_ADMINISTRATOR in roles)

    async def log_in_again(self, role: str, identifier: str) -> bool:
        """Unlocked by support staff if blocked, then a new session with the known password."""
        assert self.scenario is not None
        with contextlib.suppress(grpc.aio.AioRpcError):
            await self.rpc("IdentityService", "UnlockUser")(identity_api.UnlockUserRequest(
                identifier=identifier, reason="fuzz scenario repair"), metadata=[*self.meta(),
                                                                                agent_metadata("fuzz")])
        try:
            opened = await self.rpc("IdentityService", "Login")(identity_api.LoginRequest(
                identifier=identifier, password=self.scenario.passwords[identifier]), metadata=self.meta())
        except grpc.aio.AioRpcError:
            return False
        self.scenario.tokens[role] = opened.session_token
        return not opened.must_change_password

    async def ensure_scenario(self) -> None:
        assert self.scenario is not None
        self.since_check = 0
        self.dirty = True  # checking touches sessions; repairs change much more
        await self.settle()
        if not await self.session_works("asl", administrator=True):
            self.outcome.repairs[f"asl login ({self.last_method})"] += 1
            if not (await self.log_in_again("asl", self.scenario.asl)
                    and await self.session_works("asl", administrator=True)):
                self.outcome.repairs[f"new company ({self.last_method})"] += 1
                self.scenario = await self.onboard()
        if not await self.session_works("user", administrator=False):
            self.outcome.repairs[f"user login ({self.last_method})"] += 1
            if not await self.log_in_again("user", self.scenario.user):
                self.outcome.repairs[f"new user ({self.last_method})"] += 1
                s = self.scenario
                s.user, s.user_email, s.tokens["user"] = await self.new_user(s.tokens["asl"], f"fuzz{s.companies}")
                s.passwords[s.user] = USER_PASSWORD
        await self.settle()
