"""The abuse suite's platform attacks. NATS: a process that reaches the server without a credential, with an unknown
one, or with another service's, tries to make itself ASL of an open company (a forged ``terms_accepted``), to
suspend it (a forged administrators snapshot), and to read streams it does not own; with each service's own
credential, to reconfigure the streams so that they carry its messages into another's stream or another's into
its own (republish, sources, mirror, subject transforms: the review of 2026-11-28), or to delete or empty them.
PostgreSQL: one ASL removes its co-ASL and itself at the same time through two identity servers on one database,
round after round."""
from __future__ import annotations

import asyncio
import tempfile
import uuid
from dataclasses import replace
from pathlib import Path
from typing import Any

import grpc
import nats
from nats.js.api import AckPolicy, ConsumerConfig, RePublish, StreamConfig, StreamSource, SubjectTransform
from portal.cofor.v1 import cofor_service_pb2 as cofor_api
from portal.cofor.v1 import events_pb2 as cofor_events
from portal.cofor.v1 import supplier_pb2 as cofor_pb
from portal.identity.v1 import events_pb2 as identity_events
from portal.identity.v1 import identity_service_pb2 as identity_api
from portal.identity.v1 import identity_service_pb2_grpc
from sqlalchemy import func, select

from bench.report import Report
from kit import migrations
from kit.client import ServiceClient, failure_of
from kit.messaging import envelope
from kit.messaging.credentials import new_seed
from kit.messaging.streams import stream_config
from kit.sealed import SealKeyPair
from testing.fleet import nats_users
from testing.processes import NatsServer, PostgresCluster
from tests.e2e.journeys import onboarded_company
from tests.e2e.stack import Stack
from tests.integration.identity.seeds import active_administrators, two_administrators

from identity.adapters.hasher import Hasher
from identity.adapters.orm import accounts
from identity.bootstrap import MIGRATIONS, build_app
from identity.settings import IdentitySettings

FORGER = "forger@attacker.example"
TERMS = "cofor.access.terms_accepted"
PASSWORD = "a long password typed by both administrators"


async def forged_events(stack: Stack, server: NatsServer) -> tuple[int, int, int, int]:
    """Returns (connections admitted without a known credential, forged events acted on, foreign streams read,
    forging attempts)."""
    root, _ = await onboarded_company(stack)
    admitted = 0
    for options in ({}, {"nkeys_seed_str": new_seed()}, {"user": "cofor", "password": "cofor"}):
        try:
            nc = await nats.connect(server.url, connect_timeout=2, allow_reconnect=False, max_reconnect_attempts=0,
                                    error_cb=_quiet, **options)
            admitted += 1
            await nc.close()
        except Exception:  # refused: what must happen
            pass
    attempts, read = 0, 0
    forged_asl = cofor_events.TermsAccepted(
        cofor_root=root, head_office_cofor=f"{root}  01", legal_name="Forged", access_request_id=str(uuid.uuid4()),
        administrator=cofor_pb.Contact(given_name="Eve", family_name="Mallory", email=FORGER, language="en"))
    no_asl = identity_events.ActiveAdministratorsChanged(cofor_root=root, active_administrator_count=0,
                                                         revision=1_000_000)
    for user, subject, message, stream in (
            ("support", "cofor.access.terms_accepted", forged_asl, "COFOR"),
            ("identity", "cofor.access.terms_accepted", forged_asl, "COFOR"),
            ("cofor", "identity.company.administrators_changed", no_asl, "IDENTITY"),
            ("support", "identity.company.administrators_changed", no_asl, "IDENTITY")):
        nc = await server.connect(user, allow_reconnect=False, error_cb=_quiet)
        try:
            data, headers = message.SerializeToString(), {envelope.MSG_ID: str(uuid.uuid4())}
            await nc.publish(subject, data, headers=headers)  # core publish: the server drops it
            attempts += 1
            try:
                await nc.jetstream(timeout=2).publish(subject, data, headers=headers)
            except Exception:
                pass
            attempts += 1
            other = "IDENTITY" if stream == "COFOR" else "COFOR"  # a stream this user does not consume
            try:
                sub = await nc.jetstream(timeout=2).pull_subscribe(
                    f"{other.lower()}.>", stream=other, config=ConsumerConfig(ack_policy=AckPolicy.NONE))
                read += len(await sub.fetch(1, timeout=2)) > 0
            except Exception:
                pass
        finally:
            await nc.close()
    tries, reconfigured, sourced = await stream_reconfigurations(server, forged_asl)
    attempts, read = attempts + tries, read + sourced
    await asyncio.sleep(3)  # what a let-through event would have done is done by now
    async with stack.apps[1].database.session(readonly=True) as s, s.begin():
        forged_accounts = await s.scalar(select(func.count()).select_from(accounts).where(
            accounts.c.email == FORGER)) or 0
    state = (await stack.cofor.GetSupplier(cofor_api.GetSupplierRequest(cofor=root))).supplier.portal_access_state
    acted = forged_accounts + (state != cofor_pb.PORTAL_ACCESS_STATE_OPEN) + reconfigured
    return admitted, acted, read, attempts


async def stream_reconfigurations(server: NatsServer, forged: cofor_events.TermsAccepted) -> tuple[int, int, int]:
    """Each service's own credential tries what the review did: republish its own subject into COFOR (then publish
    the forged acceptance there), a subject transform to the same end, COFOR and IDENTITY as sources of the stream it
    reads, a mirror of COFOR, a sourced copy of IDENTITY; deleting and emptying its own stream. Returns (attempts,
    those accepted that would carry or destroy events, those accepted that would read another's stream)."""
    tries = acted = read = 0
    for user in ("cofor", "identity", "support"):
        own, relay = user.upper(), f"{user}.relay.x"
        nc = await server.connect(user, allow_reconnect=False, error_cb=_quiet)
        js = nc.jetstream(timeout=2)
        effects = [  # (the attempt, what its success would give the attacker)
            (js.update_stream(replace(stream_config(own), republish=RePublish(src=relay, dest=TERMS))), "acted"),
            (js.update_stream(replace(stream_config(own), subject_transform=SubjectTransform(src=relay, dest=TERMS))),
             "acted"),
            (js.purge_stream(own), "acted"), (js.delete_stream(own), "acted"),
            (js.update_stream(replace(stream_config("NOTIFICATION"), sources=[
                StreamSource(name="COFOR"), StreamSource(name="IDENTITY")])), "read"),
            (js.add_stream(StreamConfig(name=f"FORGED_{own}", mirror=StreamSource(name="COFOR"))), "read"),
            (js.add_stream(StreamConfig(name=f"FORGED_{own}_COPY", subjects=[f"forged.{user}.>"], sources=[
                StreamSource(name="IDENTITY", subject_transforms=[SubjectTransform(
                    src="identity.>", dest=f"{user}.copied.>")])])), "read")]
        try:
            results = await asyncio.gather(*(attempt for attempt, _ in effects), return_exceptions=True)
            for (_, effect), result in zip(effects, results):
                tries += 1
                if not isinstance(result, BaseException):
                    acted, read = acted + (effect == "acted"), read + (effect == "read")
            try:  # lands in its own stream unless a republish or transform above was accepted
                await js.publish(relay, forged.SerializeToString(), headers={envelope.MSG_ID: str(uuid.uuid4())})
            except Exception:
                pass
            tries += 1
        finally:
            await nc.close()
    return tries, acted, read


async def _quiet(error: Exception) -> None:
    """Permission violations arrive here; they are the expected answer."""


async def asl_race(rounds: int) -> tuple[int, int, int]:
    """Two identity servers on one PostgreSQL; each round one ASL revokes or disables its co-ASL and itself at once.
    Returns (companies left with no active ASL, internal errors, rounds)."""
    with tempfile.TemporaryDirectory() as tmp:
        cluster = PostgresCluster().start()  # its own folder: the server runs as postgres, not under a root-only one
        nats_server = NatsServer(Path(tmp) / "nats", users=nats_users()).start()
        try:
            url = cluster.create_database("abuse_identity")
            await migrations.upgrade(url, MIGRATIONS)
            settings = IdentitySettings(
                grpc_port=0, database_url=url, **nats_server.settings("identity"),
                service_credentials="gateway:public:gw", mail_seal_public_key=SealKeyPair.generate().public_key,
                argon2_memory_kib=1024, argon2_time_cost=1, log_level="ERROR", shutdown_grace_seconds=0.5,
                login_limit_per_client_per_minute=100_000)  # one login per round, all from here: not what is tested
            apps = [build_app(settings), build_app(settings)]
            for app in apps:
                await app.start()
            channels = [grpc.aio.insecure_channel(app.target) for app in apps]
            clients = [ServiceClient(identity_service_pb2_grpc.IdentityServiceStub(c), {"gateway": "gw"})
                       for c in channels]
            try:
                return await _race_rounds(apps[0].database, clients, rounds)
            finally:
                for channel in channels:
                    await channel.close()
                for app in apps:
                    await app.stop()
        finally:
            nats_server.stop()
            cluster.destroy()


async def _race_rounds(database: Any, clients: list[ServiceClient], rounds: int) -> tuple[int, int, int]:
    password_hash = await Hasher(memory_kib=1024, time_cost=1).hash(PASSWORD)
    asl_less = internal = 0
    mixes = [("revoke", "revoke"), ("disable", "disable"), ("revoke", "disable"), ("disable", "revoke")]
    for n in range(rounds):
        root, me, colleague = await two_administrators(database, password_hash)
        token = (await clients[0].Login(identity_api.LoginRequest(identifier=me, password=PASSWORD))).session_token
        on_colleague, on_self = mixes[n % len(mixes)]
        results = await asyncio.gather(_remove(clients[n % 2], on_colleague, colleague, token),
                                       _remove(clients[1 - n % 2], on_self, me, token), return_exceptions=True)
        internal += sum(1 for r in results if isinstance(r, grpc.aio.AioRpcError) and failure_of(r).code in (
            grpc.StatusCode.INTERNAL, grpc.StatusCode.UNKNOWN))
        asl_less += await active_administrators(database, root) == 0
    return asl_less, internal, rounds


def _remove(client: ServiceClient, action: str, identifier: str, token: str) -> Any:
    if action == "revoke":
        return client.RevokeAdministrator(identity_api.RevokeAdministratorRequest(identifier=identifier), bearer=token)
    return client.DisableUser(identity_api.DisableUserRequest(identifier=identifier), bearer=token)


async def run_platform(report: Report, stack: Stack, server: NatsServer, *, quick: bool) -> None:
    admitted, acted, read, attempts = await forged_events(stack, server)
    report.add("abuse_nats_admitted_without_credential", admitted, "connections", "0",
               "none, an unknown NKEY, a user and password")
    report.add("abuse_forged_events_acted_on", acted, "effects", "0",
               f"{attempts} attempts with another service's credential (an ASL for an open company, an empty "
               "administrators snapshot) or a service's own (streams republished, transformed, deleted, emptied)")
    report.add("abuse_foreign_streams_read", read, "streams", "0",
               "another's stream pulled, or sourced or mirrored into one of one's own")
    asl_less, internal, rounds = await asl_race(8 if quick else 40)
    report.add("abuse_asl_less_companies_after_race", asl_less, "companies", "0",
               f"PostgreSQL, two identity servers, {rounds} rounds of revoke/disable on the co-ASL and oneself at once")
    report.add("abuse_race_internal_errors", internal, "calls", "0", "a deadlock victim would answer INTERNAL")
