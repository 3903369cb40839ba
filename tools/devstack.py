"""`make run`: the whole system on one machine with the embedded defaults.

NATS (JetStream, data under var/nats), a local SMTP sink (mails under var/mail), SQLite databases under
var/db, the three services and the gateway. Ctrl-C stops everything cleanly; the next run reuses var/.
The ports, secrets and environments are tools/devstack_config.py's.
"""
from __future__ import annotations

import argparse
import asyncio
import os
import signal
import subprocess
import sys
import time
from email.message import EmailMessage
from pathlib import Path

import grpc
from grpc_health.v1 import health_pb2, health_pb2_grpc
from portal.identity.v1 import oidc_pb2, oidc_pb2_grpc

from kit.auth import SERVICE_TOKEN_KEY
from kit.messaging.trust import PROVISIONER, NatsUsers
from testing.mailsink import MailSink
from testing.processes import NatsServer, wait_for_port

from tools.demo import seed
from tools.demo_app import DEMO_CLIENT_ID
from tools.devstack_config import (
    DEMO_APP_PORT,
    GATEWAY_PORT,
    NATS_PORT,
    SERVICES,
    SMTP_PORT,
    dev_secrets,
    gateway_env,
    nats_users,
    service_env,
    var_dir,
)


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
        log = open(root / "logs" / "demo-app.log", "ab")
        children.append(("demo app", subprocess.Popen([sys.executable, "-m", "tools.demo_app"],
                                                      env=demo_app_env(root, secret), stdout=log,
                                                      stderr=subprocess.STDOUT)))
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


def demo_app_env(root: Path, secret: dict[str, str]) -> dict[str, str]:
    """The demo application's environment; registered with the portal on the first start of a fresh var/ (as an
    operator would, `portalctl oidc clients add`), its secret kept in var/secrets/demo-app.env."""
    saved = root / "secrets" / "demo-app.env"
    base = f"http://127.0.0.1:{DEMO_APP_PORT}"
    if not saved.exists():
        client_secret = asyncio.run(register_demo_app(secret["OPERATOR_SERVICE_TOKEN"], base))
        descriptor = os.open(saved, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(descriptor, "w") as out:
            out.write(f"DEMO_CLIENT_SECRET={client_secret}\n")
    values = dict(line.split("=", 1) for line in saved.read_text().split())
    return {**os.environ, "DEMO_ISSUER": f"http://localhost:{GATEWAY_PORT}", "DEMO_CLIENT_ID": DEMO_CLIENT_ID,
            "DEMO_CLIENT_SECRET": values["DEMO_CLIENT_SECRET"], "DEMO_BASE_URL": base}


async def register_demo_app(operator_token: str, base: str) -> str:
    async with grpc.aio.insecure_channel(f"127.0.0.1:{SERVICES[1].grpc_port}") as channel:
        answer = await oidc_pb2_grpc.OidcProviderServiceStub(channel).CreateOidcClient(
            oidc_pb2.CreateOidcClientRequest(client=oidc_pb2.OidcClient(
                client_id=DEMO_CLIENT_ID, name="Qualité fournisseurs (démo)",
                token_endpoint_auth_method="client_secret_basic", redirect_uris=[f"{base}/callback"],
                post_logout_redirect_uris=[f"{base}/"], backchannel_logout_uri=f"{base}/backchannel-logout")),
            metadata=[(SERVICE_TOKEN_KEY, operator_token)], timeout=30)
    return str(answer.client_secret)


async def _all_serving() -> None:
    await asyncio.gather(*(wait_serving(s.grpc_port) for s in SERVICES))


def _banner(root: Path) -> str:
    rows = [("portal (web pages + HTTP/JSON API)", f"http://localhost:{GATEWAY_PORT}/"),
            ("demo application (signs in with the portal)", f"http://127.0.0.1:{DEMO_APP_PORT}/")]
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
