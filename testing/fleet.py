"""The services as separate OS processes, for the multi-replica proof and the chaos suite: start one on a fixed
gRPC port, kill it with SIGKILL, start it again on the same port; wait until it is SERVING; call a service's
processes with failover and retries; read a service's database directly; find the mails the sink received."""
from __future__ import annotations

import asyncio
import importlib
import os
import signal
import subprocess
import sys
from collections import defaultdict
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import grpc
from grpc_health.v1 import health_pb2, health_pb2_grpc
from portal.cofor.v1 import cofor_service_pb2_grpc
from portal.identity.v1 import identity_service_pb2_grpc
from portal.support.v1 import support_service_pb2_grpc
from sqlalchemy import Row, text
from sqlalchemy.ext.asyncio import create_async_engine

from kit import migrations
from kit.messaging.trust import NatsUsers, declared_grant
from kit.sealed import SealKeyPair
from testing.mailsink import MailSink, ReceivedMail
from testing.processes import free_port
from testing.streams import wait_for

STUBS = {"cofor": cofor_service_pb2_grpc.CoforServiceStub, "identity": identity_service_pb2_grpc.IdentityServiceStub,
         "support": support_service_pb2_grpc.SupportServiceStub}
RETRYABLE = (grpc.StatusCode.UNAVAILABLE, grpc.StatusCode.DEADLINE_EXCEEDED)
# gRPC backs off up to 120 s between reconnections; a restarted process should be found within a second.
CHANNEL_OPTIONS = [("grpc.initial_reconnect_backoff_ms", 200), ("grpc.min_reconnect_backoff_ms", 200),
                   ("grpc.max_reconnect_backoff_ms", 1000)]


def nats_users(*, admin: bool = True) -> NatsUsers:
    """A NATS credential for each of the portal's services, with the permissions its settings declare, the stream
    provisioner's (``NatsServer`` provisions with it at start) and (tests only) the test administrator's."""
    return NatsUsers.generate([declared_grant(name) for name in STUBS], admin=admin)


def environment(*, nats_url: str, seal: SealKeyPair, smtp_port: int, credentials: str) -> dict[str, str]:
    """What every service process of a fleet reads (add DATABASE_URL and the service's own NATS credential,
    ``NatsServer.environment(name)``): cheap argon2, limits raised so that they
    never answer first, short polls and backoffs so that a restarted process catches up at once."""
    return {"NATS_URL": nats_url, "SERVICE_CREDENTIALS": credentials, "LOG_LEVEL": "WARNING",
            "RELAY_POLL_SECONDS": "0.5", "SHUTDOWN_GRACE_SECONDS": "1", "MAIL_SEAL_PUBLIC_KEY": seal.public_key,
            "MAIL_SEAL_PRIVATE_KEY": seal.private_key, "ARGON2_MEMORY_KIB": "1024", "ARGON2_TIME_COST": "1",
            "LOGIN_LIMIT_PER_IDENTIFIER_PER_MINUTE": "100000", "LOGIN_LIMIT_PER_CLIENT_PER_MINUTE": "100000",
            "RECOVERY_LIMIT_PER_HOUR": "100000", "RECOVERY_LIMIT_PER_CLIENT_PER_HOUR": "100000",
            "MAX_OPEN_TICKETS_PER_EMAIL": "100000", "SMTP_PORT": str(smtp_port), "MAIL_POLL_SECONDS": "0.5",
            "MAIL_MAX_BACKOFF_SECONDS": "1", "CONSUMER_ACK_WAIT_SECONDS": "5"}


async def migrate(urls: dict[str, str]) -> None:
    """Bring each service's database (keyed by service name) to its latest migration."""
    for name, url in urls.items():
        # Only the services asked for are imported: every test imports this module (nats_users), and a suite
        # about one service should not depend on the others importing.
        bootstrap = importlib.import_module(f"{name}.bootstrap")
        await migrations.upgrade(url, bootstrap.MIGRATIONS)


class ServiceProcess:
    """``python -m <service>`` on its own port (given in ``port_variable``: the gateway's is GATEWAY_PORT), kept
    across restarts (clients reconnect to the same target)."""

    def __init__(self, name: str, env: dict[str, str], log: Path, port: int | None = None, *,
                 port_variable: str = "GRPC_PORT") -> None:
        self.name = name
        self.env = env
        self.log = log
        self.port = port or free_port()
        self.port_variable = port_variable
        self.process: subprocess.Popen[bytes] | None = None

    @property
    def target(self) -> str:
        return f"127.0.0.1:{self.port}"

    @property
    def alive(self) -> bool:
        return self.process is not None and self.process.poll() is None

    def start(self) -> ServiceProcess:
        with open(self.log, "ab") as out:  # the child keeps its own copy of the descriptor
            self.process = subprocess.Popen(
                [sys.executable, "-m", self.name], stdout=out, stderr=subprocess.STDOUT,
                env={**os.environ, "LOG_LEVEL": "WARNING", **self.env, self.port_variable: str(self.port),
                     "METRICS_PORT": "0"})
        return self

    async def serving(self, timeout: float = 60) -> ServiceProcess:
        """Until SERVING; a process that never serves fails with the end of its log."""
        try:
            await wait_serving(self.target, timeout)
        except AssertionError:
            tail = self.log.read_text(errors="replace")[-1500:] if self.log.exists() else ""
            raise RuntimeError(f"{self.name} on {self.target} never served; its log ends:\n{tail}") from None
        return self

    def kill(self) -> None:
        """SIGKILL: the crash case, no shutdown work at all."""
        if self.alive:
            assert self.process is not None
            self.process.send_signal(signal.SIGKILL)
            self.process.wait()

    def stop(self) -> None:
        if self.alive:
            assert self.process is not None
            self.process.terminate()
            try:
                self.process.wait(15)
            except subprocess.TimeoutExpired:
                self.kill()


async def wait_serving(target: str, timeout: float = 60) -> None:
    """Until the gRPC health check of ``target`` answers SERVING."""
    async def probe() -> bool:
        try:
            async with grpc.aio.insecure_channel(target) as channel:
                reply = await health_pb2_grpc.HealthStub(channel).Check(health_pb2.HealthCheckRequest(), timeout=1)
                return bool(reply.status == health_pb2.HealthCheckResponse.SERVING)
        except grpc.aio.AioRpcError:
            return False
    await wait_for(probe, timeout=timeout, interval=0.3)


class Replicas:
    """The processes of one service behind one client, as behind a load balancer: calls take turns, and a call
    that finds a process gone (UNAVAILABLE, DEADLINE_EXCEEDED) is sent again, the same request, to the next one
    until ``patience`` seconds have passed. Requests that carry a request_id are therefore safe to retry."""

    def __init__(self, name: str, processes: Sequence[ServiceProcess], metadata: Sequence[tuple[str, str]], *,
                 timeout: float = 10.0, patience: float = 30.0) -> None:
        self.name = name
        self.processes = list(processes)
        self.metadata = list(metadata)
        self.timeout = timeout
        self.patience = patience
        self.channels = [grpc.aio.insecure_channel(p.target, options=CHANNEL_OPTIONS) for p in self.processes]
        self.stubs = [STUBS[name](c) for c in self.channels]
        self.turn = 0
        self.retries = 0

    async def call(self, method: str, request: Any, *, metadata: Sequence[tuple[str, str]] = (),
                   only_first: bool = False, tries: list[grpc.StatusCode] | None = None) -> Any:
        """The reply; a business error is raised as is. ``tries`` collects the code of every retried attempt."""
        self.turn += 1
        order = [0] if only_first else [(self.turn + k) % len(self.stubs) for k in range(len(self.stubs))]
        deadline = asyncio.get_running_loop().time() + self.patience
        attempt = 0
        while True:
            stub = self.stubs[order[attempt % len(order)]]
            attempt += 1
            try:
                return await getattr(stub, method)(request, metadata=[*self.metadata, *metadata],
                                                   timeout=self.timeout)
            except grpc.aio.AioRpcError as error:
                if error.code() not in RETRYABLE or asyncio.get_running_loop().time() > deadline:
                    raise
                self.retries += 1
                if tries is not None:
                    tries.append(error.code())
            await asyncio.sleep(0.25)

    async def close(self) -> None:
        for channel in self.channels:
            await channel.close()
        for process in self.processes:
            process.stop()


async def query(url: str, sql: str, **params: Any) -> list[Row[*tuple[Any, ...]]]:
    """Rows of one SQL statement, read straight from a service's database."""
    engine = create_async_engine(url)
    try:
        async with engine.connect() as conn:
            return list((await conn.execute(text(sql), params)).all())
    finally:
        await engine.dispose()


class Mailbox:
    """The sink's mails by recipient, indexed as they arrive: a waiting flow looks up one address, not every mail."""

    def __init__(self, sink: MailSink) -> None:
        self.sink = sink
        self._indexed = 0
        self._by_recipient: dict[str, list[ReceivedMail]] = defaultdict(list)

    def to(self, address: str) -> list[ReceivedMail]:
        received = self.sink.received  # appended to by the sink's thread
        for mail in received[self._indexed:len(received)]:
            for recipient in mail.rcpt_tos:
                self._by_recipient[recipient].append(mail)
            self._indexed += 1
        return list(self._by_recipient.get(address, ()))

    async def wait(self, address: str, count: int = 1, timeout: float = 60) -> list[ReceivedMail]:
        """The first ``count`` mails to ``address``, once they are there."""
        async def arrived() -> list[ReceivedMail]:
            mails = self.to(address)
            return mails[:count] if len(mails) >= count else []
        return list(await wait_for(arrived, timeout=timeout, interval=0.1))
