"""What the generated NATS permissions allow (ARCHITECTURE §9 "Trust"): a service only looks at streams; the
provisioner, whose credential no service holds, alone makes them, and does nothing else; production refuses a
provisioner without its own credential or TLS."""
from __future__ import annotations

from typing import Any

import pytest
from pydantic import ValidationError

from kit.messaging.credentials import development_seed, new_seed
from kit.messaging.provision import ProvisionerSettings
from kit.messaging.streams import STREAMS
from kit.messaging.trust import PROVISIONER, NatsUsers, Provisioner, declared_grant

SERVICES = ("cofor", "identity", "support")


@pytest.mark.parametrize("service", SERVICES)
def test_a_service_may_only_look_at_streams(service: str) -> None:
    grant = declared_grant(service)
    stream_api = [s for s in grant.publish() if s.startswith("$JS.API.STREAM.")]
    assert stream_api and all(s.startswith("$JS.API.STREAM.INFO.") for s in stream_api), stream_api
    assert not [s for s in grant.publish() if "*" in s or (s.endswith(">") and s.startswith("$JS.API"))]
    # It looks at what it publishes to and what it reads from.
    assert {s.rsplit(".", 1)[1] for s in stream_api} == {"NOTIFICATION", service.upper()} | set(grant.read_streams)


def test_the_provisioner_may_make_the_four_streams_and_the_declared_durables_only() -> None:
    provisioner = Provisioner.of(declared_grant(s) for s in SERVICES)
    allowed = set(provisioner.publish())
    streams = {f"$JS.API.STREAM.{action}.{name}" for name in STREAMS for action in ("INFO", "CREATE", "UPDATE")}
    durables = {f"$JS.API.CONSUMER.{action}.{stream}.{durable}" for stream, durable in provisioner.consumers
                for action in ("INFO", "DURABLE.CREATE")}
    assert allowed == streams | durables and len(provisioner.consumers) == 3
    assert provisioner.permissions()["subscribe"] == {"allow": ["_INBOX.provisioner.>"]}
    users = NatsUsers.generate([declared_grant(s) for s in SERVICES], admin=False)
    assert set(users.seeds) == {*SERVICES, PROVISIONER} and "PORTAL_PROVISIONER" in users.config()


def production(**changes: Any) -> dict[str, Any]:
    return {"environment": "production", "nats_url": "tls://nats-0.nats-headless:4222", "nats_nkey_seed": new_seed(),
            "nats_stream_replicas": 3, **changes}


@pytest.mark.parametrize("variable, changes", [
    ("NATS_URL", {"nats_url": "nats://nats-0.nats-headless:4222"}),
    ("NATS_NKEY_SEED", {"nats_nkey_seed": ""}),
    ("NATS_NKEY_SEED", {"nats_nkey_seed": development_seed(PROVISIONER)}),
])
def test_production_refuses_a_provisioner_without_its_own_credential_or_tls(variable: str,
                                                                           changes: dict[str, Any]) -> None:
    assert ProvisionerSettings(**production()).nats_stream_replicas == 3
    with pytest.raises(ValidationError, match=variable):
        ProvisionerSettings(**production(**changes))
    ProvisionerSettings(**{**production(**changes), "environment": "development"})
