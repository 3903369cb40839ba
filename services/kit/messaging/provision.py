"""``python -m kit.messaging.provision cofor identity support``: make the streams, before the services need them.

The privileged step of ARCHITECTURE §9 "Trust": with the provisioner's own NATS credential (``NATS_NKEY_SEED``,
held by no service process), create the four streams or bring them back to their configuration
(``kit.messaging.streams``), and create the named services' declared durable consumers. Idempotent: run it at
every deployment (deploy/'s Job ``nats-provision``, ``make run``). Exit status 0 when done, 1 when a stream or
durable exists in a shape it cannot take back (a mirror, a push consumer: an administrator deletes it first), 2 on
a configuration error.
"""
from __future__ import annotations

import argparse
import asyncio
import logging
from collections.abc import Sequence

from pydantic import Field

from kit.logging import configure_logging
from kit.messaging.connection import connect_forever
from kit.messaging.credentials import connect_options
from kit.messaging.streams import TRANSIENT, NotOurs, provision
from kit.messaging.trust import PROVISIONER, Provisioner, declared_grant
from kit.settings import NatsClientSettings, load_settings

log = logging.getLogger(__name__)


class ProvisionerSettings(NatsClientSettings):
    """NATS_URL, NATS_NKEY_SEED (the provisioner's), NATS_CA_FILE..., and how many copies each stream keeps."""

    nats_stream_replicas: int = Field(default=1, ge=1, le=5)
    # How long a NATS cluster still forming (no JetStream leader yet) is waited for before giving up.
    provision_timeout_seconds: float = Field(default=300.0, gt=0)

    @property
    def nats_user(self) -> str:
        return PROVISIONER


async def run(settings: ProvisionerSettings, services: Sequence[str]) -> int:
    provisioner = Provisioner.of(declared_grant(name) for name in services)
    stop = asyncio.Event()
    try:
        nc = await asyncio.wait_for(connect_forever(
            settings.nats_url, stop, name=PROVISIONER, **connect_options(settings, provisioner.inbox_prefix)),
            settings.provision_timeout_seconds)
    except TimeoutError:
        log.error("NATS not reachable at %s", settings.nats_url)
        return 1
    if nc is None:  # only when stopped, which nothing here does; never go on without a connection
        return 1
    try:
        await provision(nc.jetstream(timeout=5), provisioner.consumers, replicas=settings.nats_stream_replicas,
                        patience=settings.provision_timeout_seconds)
    except NotOurs as exc:
        log.error("%s", exc)
        return 1
    except TRANSIENT as exc:  # a cluster without quorum, or a credential NATS does not let do this (no answer)
        log.error("JetStream did not answer within %ss: %r", settings.provision_timeout_seconds, exc)
        return 1
    finally:
        await nc.close()
    log.info("streams provisioned (%d replicas) with the durables of %s", settings.nats_stream_replicas,
             ", ".join(services))
    return 0


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m kit.messaging.provision", description=__doc__.split("\n")[0])
    parser.add_argument("services", nargs="+", help="the services whose declared durables to create")
    args = parser.parse_args(argv)
    settings = load_settings(ProvisionerSettings)
    configure_logging(PROVISIONER, settings.log_level)
    return asyncio.run(run(settings, args.services))


if __name__ == "__main__":
    raise SystemExit(main())
