"""A service process: gRPC server + outbox relay + event consumers, started and stopped as one."""
from __future__ import annotations

import argparse
import asyncio
import functools
import logging
import signal
from collections.abc import Callable, Coroutine, Sequence
from pathlib import Path
from typing import Any, TypeVar

from nats.aio.client import Client
from prometheus_client import start_http_server

from kit import migrations
from kit.aio import sleep_unless
from kit.backoff import Backoff
from kit.db import Database
from kit.grpc_server import GrpcServer, Registrar
from kit.logging import configure_logging
from kit.messaging.connection import connect_forever
from kit.messaging.consumer import EventConsumer
from kit.messaging.credentials import connect_options
from kit.messaging.outbox import OutboxRelay
from kit.messaging.streams import wait_for_streams
from kit.messaging.trust import Grant
from kit.settings import MigrationSettings, ServiceSettings, load_settings

log = logging.getLogger(__name__)


class ServiceApp:
    """Everything one service process runs. Services build one in their ``bootstrap`` and add only domain code."""

    def __init__(self, settings: ServiceSettings, database: Database, *, registrars: Sequence[Registrar],
                 service_names: Sequence[str], consumers: Sequence[EventConsumer] = (),
                 background: Sequence[Callable[[asyncio.Event], Coroutine[Any, Any, None]]] = (),
                 listeners: Sequence[Callable[[Client, asyncio.Event], Coroutine[Any, Any, None]]] = ()) -> None:
        self.settings = settings
        self.database = database
        self.consumers = list(consumers)
        # What NATS lets this service do follows its settings' declaration: a consumer missing there would only
        # meet "permission denied" at run time, so it is refused here, where the mistake is made.
        self.grant = Grant(settings.service_name, tuple(type(settings).nats_consumers))
        undeclared = {(c.stream, c.durable) for c in self.consumers} - set(self.grant.consumers)
        if undeclared:
            raise ValueError(f"{settings.service_name}: consumers {sorted(undeclared)} are not declared in "
                             f"{type(settings).__name__}.nats_consumers")
        self._nats_options = connect_options(settings, self.grant.inbox_prefix)  # a missing CA file fails here
        self.background = list(background)  # service-specific loops (read models...), run until stop
        self.listeners = list(listeners)  # loops that need the NATS connection (core subscriptions)
        self.relay = OutboxRelay(database, batch_size=settings.relay_batch_size,
                                 poll_seconds=settings.relay_poll_seconds)
        self.grpc = GrpcServer(host=settings.grpc_host, port=settings.grpc_port,
                               error_domain=settings.service_name, registrars=registrars,
                               service_names=service_names, enable_reflection=settings.enable_reflection)
        self.stop_event = asyncio.Event()
        self.nats: Client | None = None
        self.messaging_ready = asyncio.Event()
        self._tasks: list[asyncio.Task[Any]] = []

    @property
    def grpc_port(self) -> int:
        return self.grpc.port

    @property
    def target(self) -> str:
        return f"{self.settings.grpc_host}:{self.grpc.port}"

    async def start(self) -> None:
        if self.settings.metrics_port:
            start_http_server(self.settings.metrics_port, addr=self.settings.grpc_host)
        await self.grpc.start()
        for job in self.background:
            self._tasks.append(asyncio.create_task(self._supervise(getattr(job, "__qualname__", "background"),
                                                                   functools.partial(job, self.stop_event))))
        self._tasks.append(asyncio.create_task(self._messaging(), name=f"{self.settings.service_name}-messaging"))
        self._tasks.append(asyncio.create_task(self._watch_database(), name=f"{self.settings.service_name}-db-health"))
        log.info("%s serving gRPC on %s", self.settings.service_name, self.target)

    async def _messaging(self) -> None:
        nc = await connect_forever(self.settings.nats_url, self.stop_event, name=self.settings.service_name,
                                   **self._nats_options)
        if nc is None:
            return
        self.nats = nc
        js = nc.jetstream(timeout=5)
        # Streams are made by a privileged step no service holds (kit.messaging.provision): a service only waits
        # until those it publishes to and reads from exist. Its events wait in the outbox; readiness is unaffected.
        await self._supervise("streams", lambda: wait_for_streams(js, self.grant.streams, self.stop_event), once=True)
        if self.stop_event.is_set():
            return
        self.messaging_ready.set()
        workers = [self._supervise("relay", lambda: self.relay.run(js, self.stop_event))]
        workers += [self._supervise(getattr(job, "__qualname__", "listener"),
                                    functools.partial(job, nc, self.stop_event)) for job in self.listeners]
        workers += [self._supervise(c.durable, functools.partial(c.run, js, self.stop_event)) for c in self.consumers]
        await asyncio.gather(*workers)

    async def _supervise(self, what: str, work: Callable[[], Coroutine[Any, Any, object]], *,
                         once: bool = False) -> None:
        """Run ``work`` until stop; restart it after a pause if it fails (NATS away, database busy...)."""
        backoff = Backoff()
        loop = asyncio.get_running_loop()
        while not self.stop_event.is_set():
            started = loop.time()
            try:
                await work()
                if once:
                    return
            except asyncio.CancelledError:
                raise
            except Exception as exc:
                log.warning("%s failed; restarting", what, extra={"error": repr(exc)})
                if loop.time() - started > backoff.maximum:  # it ran for a while: a new failure, not a repeat
                    backoff.reset()
                await backoff.pause(self.stop_event)

    async def _watch_database(self, every: float = 2.0) -> None:
        """Readiness follows the database: without it no RPC can succeed, so traffic should go elsewhere.
        (NATS is not watched: the outbox keeps events until it is back.)"""
        serving = True
        while not self.stop_event.is_set():
            await sleep_unless(self.stop_event, every)
            if self.stop_event.is_set():
                return
            ok = await self.database.ping()
            if ok != serving:
                serving = ok
                log.warning("%s database %s", self.settings.service_name, "back" if ok else "unreachable")
                await self.grpc.set_serving(ok)

    async def stop(self) -> None:
        await self.grpc.stop(self.settings.shutdown_grace_seconds)
        self.stop_event.set()
        if self._tasks:
            done, pending = await asyncio.wait(self._tasks, timeout=self.settings.shutdown_grace_seconds)
            for task in pending:
                task.cancel()
            await asyncio.gather(*pending, return_exceptions=True)
        if self.nats is not None and not self.nats.is_closed:
            try:
                await asyncio.wait_for(self.nats.drain(), 5)
            except Exception:
                await self.nats.close()
        await self.database.dispose()
        log.info("%s stopped", self.settings.service_name)

    async def run_until_signal(self) -> None:
        loop = asyncio.get_running_loop()
        stopping = asyncio.Event()
        for sig in (signal.SIGTERM, signal.SIGINT):
            loop.add_signal_handler(sig, stopping.set)
        await self.start()
        await stopping.wait()
        log.info("%s shutting down", self.settings.service_name)
        await self.stop()


SettingsT = TypeVar("SettingsT", bound=ServiceSettings)


def service_main(*, settings_cls: type[SettingsT], build: Callable[[SettingsT], ServiceApp],
                 migrations_dir: Path, argv: Sequence[str] | None = None) -> None:
    """Command line of every service: ``serve`` (default) or ``migrate``."""
    parser = argparse.ArgumentParser(prog=f"python -m {settings_cls.model_fields['service_name'].default}")
    parser.add_argument("command", nargs="?", default="serve", choices=["serve", "migrate"])
    args = parser.parse_args(argv)
    name = str(settings_cls.model_fields["service_name"].default)
    if args.command == "migrate":  # the database only: an initContainer has no NATS seed or service credentials
        database = load_settings(MigrationSettings)
        configure_logging(name, database.log_level)
        asyncio.run(migrations.upgrade(database.database_url, migrations_dir))
        log.info("%s database migrated", name)
        return
    settings = load_settings(settings_cls)
    configure_logging(settings.service_name, settings.log_level)

    async def serve() -> None:
        app = build(settings)
        await app.run_until_signal()

    asyncio.run(serve())
