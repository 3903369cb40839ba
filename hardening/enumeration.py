"""User enumeration: for login and each recovery form, an existing, a non-existing, a blocked account and one with a
second factor must get identical answers (status and body) in about the same time (median difference under 5 ms
over 200 trials). Likewise "Ask my company's ASL for an account" (RequestAccount) for a COFOR whose access is open
with ASLs (their mails relayed), one unknown, one of a company without an ASL and one whose access is suspended."""
from __future__ import annotations

import datetime as dt
import statistics
import tempfile
import time
import uuid
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

import grpc
import pyotp
from portal.cofor.v1 import events_pb2 as cofor_events
from portal.cofor.v1 import supplier_pb2 as cofor_pb
from portal.identity.v1 import identity_service_pb2 as api
from portal.identity.v1 import identity_service_pb2_grpc as api_grpc
from sqlalchemy import update

from bench.report import Report
from kit import migrations
from kit.auth import SERVICE_TOKEN_KEY
from kit.messaging import envelope
from kit.sealed import SealKeyPair
from testing.fleet import nats_users
from testing.processes import NatsServer
from testing.streams import wait_for

from identity.adapters.factor_box import DEVELOPMENT_KEY, FactorBox
from identity.adapters.orm import accounts, companies, second_factors
from identity.bootstrap import MIGRATIONS, build_app
from identity.settings import IdentitySettings

TRIALS = 200
QUICK_TRIALS = 20  # inside make test: the answers must still be identical; timings are only printed
META = [(SERVICE_TOKEN_KEY, "harden")]
NO_ASL, CLOSED, UNKNOWN = "ENUM02", "ENUM03", "ENUM99"  # RequestAccount's other COFORs


def time_now() -> dt.datetime:
    return dt.datetime.now(dt.UTC)


async def answer(call: Any) -> tuple[str, str, float]:
    started = time.perf_counter()
    try:
        reply = await call
        outcome = ("OK", str(reply).strip())
    except grpc.aio.AioRpcError as error:
        outcome = (error.code().name, error.details() or "")
    return outcome[0], outcome[1], time.perf_counter() - started


Call = Callable[[str, str], Awaitable[Any]]


async def measure(report: Report, form: str, call: Call, subjects: dict[str, tuple[str, str]], trials: int,
                  after: Callable[[str, str], Awaitable[None]] | None = None) -> None:
    """``call`` on each subject in turn, ``trials`` times (the order reversed every other trial): the median time of
    each and whether all answered the same; ``after`` (kind, subject) runs between calls, outside the timing."""
    timings: dict[str, list[float]] = {k: [] for k in subjects}
    answers: dict[str, set[tuple[str, str]]] = {k: set() for k in subjects}
    for trial in range(trials):
        order = list(subjects) if trial % 2 else list(reversed(subjects))
        for kind in order:
            ident, email = subjects[kind]
            code, body, seconds = await answer(call(ident, email))
            timings[kind].append(seconds)
            answers[kind].add((code, body))
            if after is not None:
                await after(kind, ident)
    medians = {k: statistics.median(v) * 1000 for k, v in timings.items()}
    spread = max(medians.values()) - min(medians.values())
    identical = len({frozenset(a) for a in answers.values()}) == 1 and all(len(a) == 1 for a in answers.values())
    report.add(f"enumeration_{form}_median_spread", spread, "ms", "< 5",
               "medians " + ", ".join(f"{k} {v:.1f}" for k, v in medians.items())
               + ("; identical answers" if identical else "; ANSWERS DIFFER"))
    report.add(f"enumeration_{form}_identical_answers", 1.0 if identical else 0.0, "bool", "1")


async def run(report: Report, *, quick: bool = False) -> None:
    trials = QUICK_TRIALS if quick else TRIALS
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        url = f"sqlite+aiosqlite:///{root / 'identity.sqlite3'}"
        await migrations.upgrade(url, MIGRATIONS)
        server = NatsServer(root / "nats", users=nats_users()).start()
        seal = SealKeyPair.generate()
        settings = IdentitySettings(  # production hashing; limits raised so that they never answer first
            grpc_port=0, database_url=url, **server.settings("identity"), service_credentials="h:internal:harden",
            mail_seal_public_key=seal.public_key, log_level="ERROR", recovery_limit_per_hour=100_000,
            recovery_limit_per_client_per_hour=100_000, login_limit_per_identifier_per_minute=100_000,
            account_request_limit_per_client_per_hour=100_000, account_request_limit_per_email_per_day=100_000,
            account_request_limit_per_company_per_day=100_000)
        app = build_app(settings)
        await app.start()
        nc = await server.connect()  # the test administrator publishes cofor's events
        js = nc.jetstream()
        try:
            company = "ENUM01"
            for subject, message in (
                    ("cofor.supplier.referenced", cofor_events.SupplierReferenced(cofor_root=company, legal_name="E")),
                    ("cofor.access.terms_accepted", cofor_events.TermsAccepted(
                        cofor_root=company, legal_name="E", access_request_id=str(uuid.uuid4()),
                        administrator=cofor_pb.Contact(given_name="A", family_name="B", email="asl@enum.example",
                                                       language="fr"))),
                    ("cofor.access.terms_accepted", cofor_events.TermsAccepted(
                        cofor_root=company, legal_name="E", access_request_id=str(uuid.uuid4()),
                        administrator=cofor_pb.Contact(given_name="C", family_name="D",
                                                       email="blocked@enum.example", language="fr"))),
                    ("cofor.access.terms_accepted", cofor_events.TermsAccepted(
                        cofor_root=company, legal_name="E", access_request_id=str(uuid.uuid4()),
                        administrator=cofor_pb.Contact(given_name="F", family_name="G",
                                                       email="factor@enum.example", language="fr"))),
                    ("cofor.access.opened", cofor_events.AccessOpened(cofor_root=company)),
                    # RequestAccount's other companies: one without an ASL, one with an ASL but its access suspended
                    ("cofor.supplier.referenced", cofor_events.SupplierReferenced(cofor_root=NO_ASL, legal_name="N")),
                    ("cofor.supplier.referenced", cofor_events.SupplierReferenced(cofor_root=CLOSED, legal_name="S")),
                    ("cofor.access.terms_accepted", cofor_events.TermsAccepted(
                        cofor_root=CLOSED, legal_name="S", access_request_id=str(uuid.uuid4()),
                        administrator=cofor_pb.Contact(given_name="H", family_name="I", email="asl@closed.example",
                                                       language="fr"))),
                    ("cofor.access.opened", cofor_events.AccessOpened(cofor_root=CLOSED)),
                    ("cofor.access.suspended", cofor_events.AccessSuspended(cofor_root=CLOSED))):
                await js.publish(subject, message.SerializeToString(), headers={envelope.MSG_ID: str(uuid.uuid4())})

            async def three_accounts() -> dict[str, Any]:
                async with app.database.session(readonly=True) as s, s.begin():
                    rows = (await s.execute(accounts.select().where(accounts.c.cofor_root == company))).mappings().all()
                    closed = (await s.execute(companies.select().where(companies.c.cofor_root == CLOSED))).first()
                    others = (await s.execute(accounts.select().where(accounts.c.cofor_root == CLOSED))).first()
                done = len(rows) == 3 and closed is not None and not closed.access_open and others is not None
                return {r["email"].split("@")[0]: r for r in rows} if done else {}

            found = await wait_for(three_accounts, timeout=30)
            existing, blocked, with_factor = found["asl"], found["blocked"], found["factor"]
            async with app.database.write_transaction() as s:
                await s.execute(update(accounts).where(accounts.c.identifier == blocked["identifier"])
                                .values(state="BLOCKED", failed_attempts=5, lock_cause="FAILED_ATTEMPTS"))
                await s.execute(second_factors.insert().values(  # an authenticator app: the answer must not tell
                    identifier=with_factor["identifier"], kind="TOTP", secret_sealed=FactorBox(DEVELOPMENT_KEY).seal(
                        pyotp.random_base32(32)), confirmed_at=time_now(), failed_attempts=0, last_step=0,
                    created_at=time_now()))
            unknown = next(f"V{n:06d}" for n in range(1, 999_999)
                           if f"V{n:06d}" not in {r["identifier"] for r in found.values()})
            subjects = {"existing": (existing["identifier"], existing["email"]),
                        "unknown": (unknown, "who@enum.example"),
                        "blocked": (blocked["identifier"], blocked["email"]),
                        "with a second factor": (with_factor["identifier"], with_factor["email"])}
            async with grpc.aio.insecure_channel(app.target) as channel:
                stub = api_grpc.IdentityServiceStub(channel)
                forms: dict[str, Call] = {
                    "login": lambda ident, email: stub.Login(api.LoginRequest(
                        identifier=ident, password="not the password, typed wrong"), metadata=META),
                    "recover_identifier": lambda ident, email: stub.RecoverIdentifier(api.RecoverIdentifierRequest(
                        email=email, cofor=company), metadata=META),
                    "reset_administrator_password": lambda ident, email: stub.ResetAdministratorPassword(
                        api.ResetAdministratorPasswordRequest(identifier=ident, cofor=company, email=email),
                        metadata=META),
                    "contact_administrator": lambda ident, email: stub.ContactAdministrator(
                        api.ContactAdministratorRequest(identifier=ident, cofor=company, email=email, message="help"),
                        metadata=META),
                }

                async def below_threshold(kind: str, ident: str) -> None:
                    if kind in ("existing", "with a second factor"):
                        async with app.database.write_transaction() as s:  # keep it below the threshold
                            await s.execute(update(accounts).where(accounts.c.identifier == ident)
                                            .values(failed_attempts=0, state="ACTIVE", lock_cause=""))

                for form, call in forms.items():
                    await measure(report, form, call, subjects, trials, below_threshold if form == "login" else None)
                await measure(report, "request_account", lambda root, email: stub.RequestAccount(
                    api.RequestAccountRequest(cofor=root, given_name="Nina", family_name="Nouvelle", email=email,
                                              job_title="Acheteuse", message="Bonjour,\nun compte ?", language="fr"),
                    metadata=META), {kind: (root, "nina@newcomer.example") for kind, root in (
                        ("open with ASLs", company), ("unknown", UNKNOWN), ("without an ASL", NO_ASL),
                        ("access suspended", CLOSED))}, trials)
        finally:
            await nc.close()
            await app.stop()
            server.stop()
