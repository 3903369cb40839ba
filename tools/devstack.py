"""`make run`: the whole system on one machine with the embedded defaults.

NATS (JetStream, data under var/nats), a local SMTP sink (mails under var/mail), SQLite databases under
var/db, the three services and the gateway. Ctrl-C stops everything cleanly; the next run reuses var/.
"""
from __future__ import annotations

import argparse
import asyncio
import os
import secrets
import signal
import subprocess
import sys
import time
from dataclasses import dataclass
from email.message import EmailMessage
from pathlib import Path

import grpc
from grpc_health.v1 import health_pb2, health_pb2_grpc

from kit.messaging.credentials import new_seed
from kit.messaging.trust import PROVISIONER, NatsUsers, declared_grant
from kit.sealed import SealKeyPair
from testing.mailsink import MailSink
from testing.processes import NatsServer, wait_for_port

from tools.demo import seed


@dataclass(frozen=True)
class ServiceSpec:
    name: str
    grpc_port: int
    metrics_port: int


# PORTAL_PORT_OFFSET shifts every port, so a second stack (tests, a colleague) can run beside the first.
_OFFSET = int(os.environ.get("PORTAL_PORT_OFFSET", "0"))
SERVICES = [ServiceSpec("cofor", 50051 + _OFFSET, 9101 + _OFFSET),
            ServiceSpec("identity", 50052 + _OFFSET, 9102 + _OFFSET),
            ServiceSpec("support", 50053 + _OFFSET, 9103 + _OFFSET)]
GATEWAY_PORT = 8080 + _OFFSET
NATS_PORT = 4222 + _OFFSET
SMTP_PORT = 1025 + _OFFSET


def var_dir() -> Path:
    return Path(os.environ.get("PORTAL_VAR_DIR", "var")).resolve()


def dev_secrets(root: Path) -> dict[str, str]:
    """Development secrets, made once and kept in var/secrets/dev.env (never committed)."""
    path = root / "secrets" / "dev.env"
    if not path.exists():
        path.parent.mkdir(parents=True, exist_ok=True)
        path.parent.chmod(0o700)  # var/secrets/: this user's only
        keys = SealKeyPair.generate()
        values = {
            "MAIL_SEAL_PUBLIC_KEY": keys.public_key,
            "MAIL_SEAL_PRIVATE_KEY": keys.private_key,
            "GATEWAY_SERVICE_TOKEN": secrets.token_urlsafe(32),
            "OPERATOR_SERVICE_TOKEN": secrets.token_urlsafe(32),
        }
        path.write_text("".join(f"{k}={v}\n" for k, v in values.items()))
        path.chmod(0o600)
    return dict(line.split("=", 1) for line in path.read_text().split() if "=" in line)


def nats_users(root: Path) -> NatsUsers:
    """Each service's own NATS credential and the stream provisioner's (NKEY seeds), made once under
    var/secrets/nats/ (0600, never committed); the server gets the public keys and each one's permissions
    (kit.messaging.trust)."""
    folder = root / "secrets" / "nats"
    folder.mkdir(parents=True, exist_ok=True)
    folder.chmod(0o700)
    seeds = {}
    for name in [spec.name for spec in SERVICES] + [PROVISIONER]:
        path = folder / f"{name}.nk"
        if not path.exists():
            descriptor = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)  # never readable by others
            with os.fdopen(descriptor, "w") as out:
                out.write(new_seed())
        seeds[name] = path.read_text().strip()
    return NatsUsers([declared_grant(spec.name) for spec in SERVICES], seeds)


def service_env(spec: ServiceSpec, root: Path, secret: dict[str, str], nats_seed: str = "") -> dict[str, str]:
    credentials = ",".join([
        f"gateway:public:{secret['GATEWAY_SERVICE_TOKEN']}",
        f"operator:purchasing+support+internal:{secret['OPERATOR_SERVICE_TOKEN']}",
    ])
    env = {
        **os.environ,
        "ENVIRONMENT": "development",
        "DATABASE_URL": f"sqlite+aiosqlite:///{root / 'db' / f'{spec.name}.sqlite3'}",
        "GRPC_HOST": "127.0.0.1",
        "GRPC_PORT": str(spec.grpc_port),
        "METRICS_PORT": str(spec.metrics_port),
        "NATS_URL": f"nats://127.0.0.1:{NATS_PORT}",
        "NATS_NKEY_SEED": nats_seed,  # its own credential only
        "SERVICE_CREDENTIALS": credentials,
        "MAIL_SEAL_PUBLIC_KEY": secret["MAIL_SEAL_PUBLIC_KEY"],
        "SMTP_HOST": "127.0.0.1",
        "SMTP_PORT": str(SMTP_PORT),
        "PORTAL_VAR_DIR": str(root),
    }
    if spec.name == "support":
        env["MAIL_SEAL_PRIVATE_KEY"] = secret["MAIL_SEAL_PRIVATE_KEY"]
        env["PORTAL_PUBLIC_URL"] = f"http://127.0.0.1:{GATEWAY_PORT}"
    return env


def gateway_env(root: Path, secret: dict[str, str]) -> dict[str, str]:
    return {
        **os.environ,
        "ENVIRONMENT": "development",
        "GATEWAY_HOST": "127.0.0.1",
        "GATEWAY_PORT": str(GATEWAY_PORT),
        "SERVICE_TOKEN": secret["GATEWAY_SERVICE_TOKEN"],
        "PORTAL_VAR_DIR": str(root),
        **{f"{s.name.upper()}_TARGET": f"127.0.0.1:{s.grpc_port}" for s in SERVICES},
    }


def provision(root: Path, users: NatsUsers) -> None:
    """The streams, as deploy/'s Job makes them: the provisioner's credential, which no service gets."""
    env = {**os.environ, "ENVIRONMENT": "development", "NATS_URL": f"nats://127.0.0.1:{NATS_PORT}",
           "NATS_NKEY_SEED": users.seeds[PROVISIONER]}
    with open(root / "logs" / "provision.log", "ab") as log:
        subprocess.run([sys.executable, "-m", "kit.messaging.provision", *(s.name for s in SERVICES)], env=env,
                       stdout=log, stderr=subprocess.STDOUT, check=True, timeout=120)


def migrate(root: Path, secret: dict[str, str]) -> None:
    for spec in SERVICES:
        subprocess.run([sys.executable, "-m", spec.name, "migrate"], env=service_env(spec, root, secret), check=True)


async def wait_serving(port: int, timeout: float = 30.0) -> None:
    deadline = time.monotonic() + timeout
    async with grpc.aio.insecure_channel(f"127.0.0.1:{port}") as channel:
        stub = health_pb2_grpc.HealthStub(channel)
        while True:
            try:
                reply = await stub.Check(health_pb2.HealthCheckRequest(), timeout=1)
                if reply.status == health_pb2.HealthCheckResponse.SERVING:
                    return
            except grpc.aio.AioRpcError:
                pass
            if time.monotonic() > deadline:
                raise TimeoutError(f"service on port {port} not SERVING after {timeout}s")
            await asyncio.sleep(0.2)


def run(root: Path) -> int:
    stop = {"flag": False}

    def _stop(*_: object) -> None:
        stop["flag"] = True

    # From here on, Ctrl-C (or SIGTERM) ends the loop below and the `finally` stops every child cleanly.
    signal.signal(signal.SIGINT, _stop)
    signal.signal(signal.SIGTERM, _stop)
    secret = dev_secrets(root)
    (root / "logs").mkdir(parents=True, exist_ok=True)
    users = nats_users(root)
    nats = NatsServer(root / "nats", NATS_PORT, log_file=root / "logs" / "nats.log", users=users,
                      provisions=False).start()
    sink = MailSink(root / "mail", SMTP_PORT).start()
    children: list[tuple[str, subprocess.Popen[bytes]]] = []
    try:
        provision(root, users)
        migrate(root, secret)
        for spec in SERVICES:
            log = open(root / "logs" / f"{spec.name}.log", "ab")
            children.append((spec.name, subprocess.Popen([sys.executable, "-m", spec.name],
                                                         env=service_env(spec, root, secret, users.seeds[spec.name]),
                                                         stdout=log, stderr=subprocess.STDOUT)))
        log = open(root / "logs" / "gateway.log", "ab")
        children.append(("gateway", subprocess.Popen([sys.executable, "-m", "gateway"],
                                                     env=gateway_env(root, secret), stdout=log,
                                                     stderr=subprocess.STDOUT)))
        asyncio.run(_all_serving())
        wait_for_port(GATEWAY_PORT, timeout=30)
        print(_banner(root))
        print(demo_data(root, secret, sink), flush=True)
        while not stop["flag"]:
            for name, child in children:
                if child.poll() is not None:
                    print(f"{name} exited with status {child.returncode}; see {root / 'logs' / (name + '.log')}")
                    return 1
            time.sleep(0.5)
        print("\nstopping...")
        return 0
    finally:
        for _, child in children:
            if child.poll() is None:
                child.send_signal(signal.SIGTERM)
        for _, child in children:
            try:
                child.wait(15)
            except subprocess.TimeoutExpired:
                child.kill()
        sink.stop()
        nats.stop()


def demo_data(root: Path, secret: dict[str, str], sink: MailSink) -> str:
    """Seeded once, on the first start of a fresh var/ (development only); printed again on later starts."""
    saved = root / "demo.txt"
    if saved.exists():
        return saved.read_text()

    def mailbox(address: str) -> list[EmailMessage]:
        return [m.message for m in sink.received if address in m.rcpt_tos]

    demo = asyncio.run(seed(f"127.0.0.1:{SERVICES[0].grpc_port}", f"127.0.0.1:{SERVICES[1].grpc_port}",
                            secret["OPERATOR_SERVICE_TOKEN"], mailbox, f"http://localhost:{GATEWAY_PORT}/"))
    saved.write_text(demo.text())
    saved.chmod(0o600)
    return demo.text()


async def _all_serving() -> None:
    await asyncio.gather(*(wait_serving(s.grpc_port) for s in SERVICES))


def _banner(root: Path) -> str:
    rows = [("portal (web pages + HTTP/JSON API)", f"http://127.0.0.1:{GATEWAY_PORT}/")]
    rows += [(f"{s.name} gRPC  (metrics)", f"127.0.0.1:{s.grpc_port}  (http://127.0.0.1:{s.metrics_port}/metrics)")
             for s in SERVICES]
    rows += [("NATS JetStream", f"nats://127.0.0.1:{NATS_PORT}  (data {root / 'nats'}; each service's own "
                                f"credential in {root / 'secrets' / 'nats'})"),
             ("SMTP sink", f"127.0.0.1:{SMTP_PORT}  (mails {root / 'mail'}, page /dev/mailbox)"),
             ("databases", str(root / "db")), ("logs", str(root / "logs")),
             ("operator token (portalctl)", str(root / "secrets" / "dev.env"))]
    width = max(len(r[0]) for r in rows)
    return "\nB2B supplier portal is running:\n" + "\n".join(f"  {a.ljust(width)}  {b}" for a, b in rows) + \
        "\n\nCtrl-C stops everything.\n"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m tools.devstack")
    parser.add_argument("command", choices=["run", "migrate"])
    args = parser.parse_args(argv)
    root = var_dir()
    if args.command == "migrate":
        migrate(root, dev_secrets(root))
        return 0
    return run(root)


if __name__ == "__main__":
    raise SystemExit(main())
