"""The portal as an operator runs it: the project's image (``make image``; built here when missing, from the layer
cache when present), migrated by its own ``migrate`` against a throwaway PostgreSQL, NATS provisioned by the image's
provisioning Job command, and the three services and the gateway as containers of that image with the settings of
deploy/k8s/base (production mode: NATS over TLS, its own NKEY per service, digests of the callers' tokens). NATS,
PostgreSQL and the SMTP sink run beside them on loopback (their images cannot be pulled here)."""
from __future__ import annotations

import base64
import hashlib
import secrets
import uuid
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass
from pathlib import Path

import grpc
import httpx
import pytest
from portal.cofor.v1 import cofor_service_pb2_grpc

from kit.client import ServiceClient
from kit.messaging.trust import PROVISIONER
from kit.sealed import SealKeyPair
from testing.certificates import server_certificate
from testing.containers import Container, env_file_values
from testing.fleet import STUBS, nats_users, query, wait_serving
from testing.mailsink import MailSink
from testing.processes import NatsServer, PostgresCluster, free_port
from testing.streams import wait_for
from tests.e2e.stack import Stack

from tools.image import Engine, build, engine

CONFIG = Path(__file__).resolve().parents[2] / "deploy" / "k8s" / "base" / "config"
NATS_CA = "/etc/portal/nats-ca.crt"
GRACE_SECONDS = 40  # terminationGracePeriodSeconds of every Deployment in deploy/k8s/base


@dataclass
class Deployment:
    engine: Engine
    image: str
    containers: dict[str, Container]
    ports: dict[str, int]  # gRPC ports of the services, the gateway's HTTP port; "<name>-metrics" too
    databases: dict[str, str]
    stack: Stack


class ContainerStack(Stack):
    """The journeys' stack, with identity's projection read straight from its PostgreSQL database."""

    identity_database: str = ""

    async def access_open(self, cofor_root: str) -> bool:
        rows = await query(self.identity_database, "SELECT access_open FROM companies WHERE cofor_root = :root",
                           root=cofor_root)
        return bool(rows and rows[0][0])


def _digest(token: str) -> str:
    return "sha256=" + hashlib.sha256(token.encode()).hexdigest()


@pytest.fixture(scope="module")
def image() -> tuple[Engine, str]:
    """Missing podman or image is built here (a failure, never a skip, when that is impossible)."""
    return engine(), build(announce=False)


@pytest.fixture(scope="module")
def sink(tmp_path_factory: pytest.TempPathFactory) -> Iterator[MailSink]:
    with MailSink(tmp_path_factory.mktemp("container-mail")) as started:
        yield started


@pytest.fixture(scope="module")
async def deployment(image: tuple[Engine, str], postgres: PostgresCluster, sink: MailSink,
                     tmp_path_factory: pytest.TempPathFactory) -> AsyncIterator[Deployment]:
    tool, name = image
    folder = tmp_path_factory.mktemp("container")
    tls = server_certificate(folder / "tls")
    nats = NatsServer(folder / "nats", users=nats_users(), tls=tls, provisions=False).start()
    seal = SealKeyPair.generate()
    tokens = {"gateway": secrets.token_urlsafe(32), "operator": secrets.token_urlsafe(32)}
    credentials = (f"gateway:public:{_digest(tokens['gateway'])},"
                   f"operator:purchasing+support+internal:{_digest(tokens['operator'])}")
    databases = {service: postgres.create_database(f"img_{service}_{uuid.uuid4().hex[:6]}") for service in STUBS}
    ports = {key: free_port() for key in [*STUBS, "gateway", *(f"{s}-metrics" for s in STUBS)]}
    mounts = {tls.ca: NATS_CA}
    containers: dict[str, Container] = {}
    try:
        for service in STUBS:  # the initContainer: the ConfigMap and DATABASE_URL only
            Container(tool, name, [service, "migrate"], {**env_file_values(CONFIG / f"{service}.env"),
                                                         "DATABASE_URL": databases[service]}).run_once()
        Container(tool, name, ["kit.messaging.provision", *STUBS], {
            **env_file_values(CONFIG / "nats-provision.env"), "NATS_URL": nats.url, "NATS_CA_FILE": NATS_CA,
            "NATS_STREAM_REPLICAS": "1", "NATS_NKEY_SEED": nats.seed(PROVISIONER)}, mounts=mounts).run_once()
        for service in STUBS:
            environment = {**env_file_values(CONFIG / f"{service}.env"), "GRPC_HOST": "127.0.0.1",
                           "GRPC_PORT": str(ports[service]), "METRICS_PORT": str(ports[f"{service}-metrics"]),
                           "NATS_URL": nats.url, "NATS_CA_FILE": NATS_CA, "NATS_NKEY_SEED": nats.seed(service),
                           "DATABASE_URL": databases[service], "SERVICE_CREDENTIALS": credentials,
                           "MAIL_SEAL_PUBLIC_KEY": seal.public_key}
            if service == "identity":
                environment["FACTOR_SECRET_KEY"] = base64.b64encode(secrets.token_bytes(32)).decode()
            if service == "support":
                environment.update(MAIL_SEAL_PRIVATE_KEY=seal.private_key, SMTP_HOST="127.0.0.1",
                                   SMTP_PORT=str(sink.port), SMTP_STARTTLS="false", SMTP_TLS="false",
                                   PORTAL_PUBLIC_URL="https://portal.test")
            containers[service] = Container(tool, name, [service], environment, mounts=mounts).start()
        for service in STUBS:
            await _serving(containers[service], f"127.0.0.1:{ports[service]}")
        containers["gateway"] = Container(tool, name, ["gateway"], {
            **env_file_values(CONFIG / "gateway.env"), "GATEWAY_HOST": "127.0.0.1",
            "GATEWAY_PORT": str(ports["gateway"]), "SERVICE_TOKEN": tokens["gateway"],
            **{f"{s.upper()}_TARGET": f"127.0.0.1:{ports[s]}" for s in STUBS}}).start()
        web = httpx.AsyncClient(base_url=f"http://127.0.0.1:{ports['gateway']}", timeout=20)
        await wait_for(lambda: _answers(web, "/readyz"), timeout=60, interval=0.3)
        channel = grpc.aio.insecure_channel(f"127.0.0.1:{ports['cofor']}")
        purchasing = ServiceClient(cofor_service_pb2_grpc.CoforServiceStub(channel),
                                   {"operator": tokens["operator"]}, default_caller="operator")
        stack = ContainerStack(web, purchasing, sink, [])
        stack.identity_database = databases["identity"]
        try:
            yield Deployment(tool, name, containers, ports, databases, stack)
        finally:
            await web.aclose()
            await channel.close()
    finally:
        for container in containers.values():
            container.remove()
        nats.stop()


async def _serving(container: Container, target: str) -> None:
    try:
        await wait_serving(target, timeout=60)
    except AssertionError:
        raise AssertionError(f"{container.name} never served; its log:\n{container.logs()[-3000:]}") from None


async def _answers(web: httpx.AsyncClient, path: str) -> bool:
    try:
        return (await web.get(path)).status_code == 200
    except httpx.TransportError:
        return False
