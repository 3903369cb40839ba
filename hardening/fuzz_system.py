"""The fuzzed system as the fuzz suite (hardening/fuzz.py) holds it: a channel to each service, each service's SQLite
file, its known-valid actors (``Scenario``) and the tally of the run (``Outcome``); the wait until the event flow is
settled and the snapshots taken around each case."""
from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections import Counter
from dataclasses import dataclass, field
from typing import Any

import grpc
from google.protobuf.descriptor import MethodDescriptor
from google.protobuf.message import Message
from grpc_health.v1 import health_pb2, health_pb2_grpc
from nats.aio.client import Client as NATS

from hardening.fuzz_state import SqliteFile
from kit.app import ServiceApp
from kit.auth import AUTHORIZATION_KEY, SERVICE_TOKEN_KEY
from testing import protofuzz
from testing.processes import NatsServer
from tests.e2e.stack import CREDENTIALS, Stack

from tools.demo import Seeder

PACKAGES = ("portal.cofor.v1", "portal.identity.v1", "portal.support.v1")


@dataclass
class Scenario:
    """The known-valid actors of the fuzzed system; repaired when a generated request broke them."""
    root: str
    asl: str
    user: str
    user_email: str
    tokens: dict[str, str]  # bearer role → token: asl, user, presenter, acceptance
    passwords: dict[str, str]  # identifier → password
    companies: int = 1
    presentation: str = ""  # the started file the presenter token opens
    ticket: str = ""

    def favourites(self) -> dict[str, list[str]]:
        """Seeds drawn more often than the others: the live objects, whose calls go deepest."""
        return {"cofor": [self.root], "cofor_root": [self.root], "identifier": [self.asl, self.user],
                "email": [self.user_email], "presentation_id": [self.presentation], "reference": [self.ticket]}


@dataclass
class Outcome:
    cases: Counter[str] = field(default_factory=Counter)  # per method
    ok: Counter[str] = field(default_factory=Counter)  # per method
    statuses: Counter[str] = field(default_factory=Counter)
    internal: list[str] = field(default_factory=list)
    state_changes: list[str] = field(default_factory=list)
    repairs: Counter[str] = field(default_factory=Counter)
    settle_timeouts: int = 0


class FuzzedSystem:
    """The running services as the fuzzer reaches them; ``start`` and the scenario are SeededSystem's
    (hardening/fuzz_scenario.py), the cases Fuzzer's (hardening/fuzz_cases.py)."""

    def __init__(self, stack: Stack, nats_server: NatsServer) -> None:
        self.stack = stack
        self.methods = {f"{m.containing_service.name}.{m.name}": m for m in protofuzz.service_methods(PACKAGES)}
        self.apps: list[ServiceApp] = stack.apps
        self.databases: list[SqliteFile] = []
        self.tokens = {name: token for name, _, token in (e.split(":", 2) for e in CREDENTIALS.split(","))}
        self.nats_server = nats_server
        self.outcome = Outcome()
        self.extra_seeds: dict[str, list[str]] = {}
        self.channels: dict[str, grpc.aio.Channel] = {}
        self.service_target: dict[str, str] = {}
        self.snapshots: list[dict[str, dict[tuple[Any, ...], tuple[Any, ...]]]] = []
        self.versions: list[int] = []
        self.dirty = True
        self.since_check = 0
        self.last_method = "set-up"
        self.errors = _ErrorLog()
        self.seeder: Seeder | None = None
        self.scenario: Scenario | None = None
        self.nc: NATS | None = None

    # ---- set-up -------------------------------------------------------------------------------------------

    async def connect(self) -> None:
        """The SQLite files, NATS, a channel to each service and which service each serves."""
        for app in self.apps:  # its first connection turns the file to WAL: only then may readers come in
            assert await app.database.ping(timeout=30), app.settings.service_name
            self.databases.append(SqliteFile(app.settings.service_name, app.settings.database_url))
        self.nc = nc = await self.nats_server.connect()  # the test administrator: it reads every stream
        self.js = nc.jetstream()
        for app in self.apps:
            channel = grpc.aio.insecure_channel(app.target)
            self.channels[app.target] = channel
            health = health_pb2_grpc.HealthStub(channel)
            for service in self.services():
                with contextlib.suppress(grpc.aio.AioRpcError):  # NOT_FOUND: another process serves it
                    await health.Check(health_pb2.HealthCheckRequest(service=service))
                    self.service_target[service] = app.target

    async def stop(self) -> None:
        logging.getLogger("kit.grpc_server").removeHandler(self.errors)
        if self.seeder is not None:
            await self.seeder.close()
        for channel in self.channels.values():
            await channel.close()
        if self.nc is not None:
            await self.nc.close()
        for database in self.databases:
            database.close()

    def services(self) -> list[str]:
        return sorted({m.containing_service.full_name for m in self.methods.values()})

    def mailbox(self, address: str) -> list[Any]:
        return [m.message for m in self.stack.sink.received if address in m.rcpt_tos]

    def call(self, method: MethodDescriptor) -> Any:
        channel = self.channels[self.service_target[method.containing_service.full_name]]
        return channel.unary_unary(f"/{method.containing_service.full_name}/{method.name}",
                                   request_serializer=_serialize,
                                   response_deserializer=protofuzz.message_class(method.output_type).FromString)

    def rpc(self, service: str, name: str) -> Any:
        return self.call(self.methods[f"{service}.{name}"])

    def meta(self, bearer: str | None = None) -> list[tuple[str, str]]:
        return [(SERVICE_TOKEN_KEY, self.tokens["operator"])] + (
            [(AUTHORIZATION_KEY, f"Bearer {bearer}")] if bearer else [])

    # ---- before / after --------------------------------------------------------------------------------------

    async def settle(self, timeout: float = 30.0) -> None:
        """Until every outbox row is published and every consumer has applied all it was sent (twice in a
        row: an applied event may have written new outbox rows)."""
        deadline = time.monotonic() + timeout
        quiet = 0
        while quiet < 2:
            quiet = quiet + 1 if await self.idle() else 0
            if time.monotonic() > deadline:
                self.outcome.settle_timeouts += 1
                return
            await asyncio.sleep(0.005)

    async def idle(self) -> bool:
        for app, database in zip(self.apps, self.databases):
            if database.pending_events(app.relay.published_total):
                return False
        for app in self.apps:
            for consumer in app.consumers:
                info = await self.js.consumer_info(consumer.stream, consumer.durable)
                if info.num_pending or info.num_ack_pending:
                    return False
        return True

    def take_snapshots(self) -> None:
        self.versions = [d.version() for d in self.databases]
        self.snapshots = [d.read() for d in self.databases]

    def dead_letters(self) -> int:
        return sum(len(snapshot.get("dead_letters", {})) for snapshot in self.snapshots)


class _ErrorLog(logging.Handler):
    """The tracebacks the services log for an unhandled error, to show beside the request that caused it."""

    def __init__(self) -> None:
        super().__init__(logging.ERROR)
        self.records: list[str] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.records.append(logging.Formatter().format(record))

    def text(self) -> str:
        return "\n".join(self.records)[-4000:]


def _serialize(message: Message) -> bytes:
    return message.SerializeToString()
