"""Who may do what on NATS (ARCHITECTURE §9 "Trust"), derived from what each service declares.

A service's settings name the service and the durable consumers it owns (``ServiceSettings.nats_consumers``);
the rules below turn that into nats-server permissions. Everything not allowed is denied, so a connection with
one service's credential can publish only that service's events and read only that service's consumers:

- publish the subjects of the stream it produces (the one named after it, e.g. ``cofor.>``), mail requests
  (``kit.notify.EMAIL_SUBJECT``, into the shared NOTIFICATION stream) and its replicas' private broadcasts
  (``_portal.<service>.>``, e.g. identity's session revocations);
- create and update its own stream; create a shared stream it publishes to (never update it); update a shared
  stream it reads. The stream of another service it only looks at (INFO): it waits until the producer made it,
  so nobody but the producer sets what goes into it (subjects, sources);
- create, look at, pull from and acknowledge its own durable consumers — nothing else of any stream: no purge,
  no delete, no direct get, no other consumer;
- receive replies only on its own inbox prefix (``_INBOX.<service>.>``).
"""
from __future__ import annotations

import importlib
import json
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field

from kit.messaging.credentials import new_seed, public_key
from kit.messaging.streams import STREAMS
from kit.notify import EMAIL_SUBJECT

API = "$JS.API"


def subject_matches(pattern: str, subject: str) -> bool:
    """NATS wildcard matching: ``*`` is one token, a final ``>`` one or more."""
    want, have = pattern.split("."), subject.split(".")
    for i, token in enumerate(want):
        if token == ">":
            return len(have) > i
        if i >= len(have) or (token != "*" and token != have[i]):
            return False
    return len(want) == len(have)


def producer_of(stream: str) -> str:
    """A stream belongs to the service its subjects are named after (COFOR: ``cofor.>`` -> cofor)."""
    return STREAMS[stream][0].split(".", 1)[0]


def is_shared(stream: str) -> bool:
    """A stream every service publishes to (mail requests): it belongs to no producer."""
    return any(subject_matches(pattern, EMAIL_SUBJECT) for pattern in STREAMS[stream])


@dataclass(frozen=True)
class Grant:
    """What one service may do on NATS: ``consumers`` are the (stream, durable) pairs it owns."""

    service: str
    consumers: tuple[tuple[str, str], ...] = ()

    @property
    def inbox_prefix(self) -> str:
        return f"_INBOX.{self.service}"

    @property
    def broadcast(self) -> str:
        return f"_portal.{self.service}.>"

    @property
    def own_streams(self) -> list[str]:
        return sorted(name for name in STREAMS if producer_of(name) == self.service)

    @property
    def read_streams(self) -> list[str]:
        return sorted({stream for stream, _ in self.consumers})

    @property
    def managed_streams(self) -> list[str]:
        """Streams this service creates or updates to its configuration at start-up."""
        return sorted(set(self.own_streams) | {s for s in self.read_streams if is_shared(s)})

    @property
    def created_streams(self) -> list[str]:
        """Shared streams it publishes to but does not manage: created if missing, never changed."""
        return sorted(s for s in STREAMS if is_shared(s) and s not in self.managed_streams)

    def publish(self) -> list[str]:
        allowed = [subject for stream in self.own_streams for subject in STREAMS[stream]]
        allowed += [EMAIL_SUBJECT, self.broadcast]
        for stream in sorted(set(self.managed_streams) | set(self.created_streams) | set(self.read_streams)):
            allowed.append(f"{API}.STREAM.INFO.{stream}")
        for stream in sorted(set(self.managed_streams) | set(self.created_streams)):
            allowed.append(f"{API}.STREAM.CREATE.{stream}")
        allowed += [f"{API}.STREAM.UPDATE.{stream}" for stream in self.managed_streams]
        for stream, durable in self.consumers:
            consumer = f"{stream}.{durable}"
            allowed += [f"{API}.CONSUMER.CREATE.{consumer}", f"{API}.CONSUMER.DURABLE.CREATE.{consumer}",
                        f"{API}.CONSUMER.INFO.{consumer}", f"{API}.CONSUMER.MSG.NEXT.{consumer}", f"$JS.ACK.{consumer}.>"]
        return allowed

    def subscribe(self) -> list[str]:
        return [f"{self.inbox_prefix}.>", self.broadcast]

    def permissions(self) -> dict[str, dict[str, list[str]]]:
        return {"publish": {"allow": self.publish()}, "subscribe": {"allow": self.subscribe()}}


def declared_grant(service: str) -> Grant:
    """The grant ``<service>/settings.py`` declares: its settings class's ``nats_consumers``."""
    from kit.settings import ServiceSettings  # noqa: PLC0415  (kit.settings imports this package)

    module = importlib.import_module(f"{service}.settings")
    [cls] = [v for v in vars(module).values() if isinstance(v, type) and issubclass(v, ServiceSettings)
             and v.__module__ == module.__name__]
    return Grant(cls.model_fields["service_name"].default, tuple(cls.nats_consumers))


def variable(service: str) -> str:
    return f"PORTAL_{service.upper()}"


def permission_variables(grants: Iterable[Grant]) -> str:
    """nats.conf variables holding each service's permissions (``PORTAL_COFOR = {...}``)."""
    return "".join(f"{variable(g.service)} = {json.dumps(g.permissions(), indent=2)}\n" for g in grants)


def authorization(grants: Sequence[Grant], keys: Iterable[tuple[str, str | None]]) -> str:
    """A complete nats.conf authorization: ``keys`` are (NKEY public key or ``$ENV_VARIABLE``, service or None).
    None is an administrator without limits (tests only). Several keys of one service: a rotation under way."""
    services = {g.service for g in grants}
    users = []
    for key, service in keys:
        nkey = key if key.startswith("$") else json.dumps(key)
        if service is None:
            users.append(f"    {{nkey: {nkey}}}\n")
        else:
            assert service in services, f"no grant for {service}"
            users.append(f"    {{nkey: {nkey}, permissions: ${variable(service)}}}\n")
    return permission_variables(grants) + "authorization {\n  users = [\n" + "".join(users) + "  ]\n}\n"


ADMIN = "admin"


@dataclass
class NatsUsers:
    """The users of one NATS server: a seed per service (and, in tests only, an unrestricted ``admin``)."""

    grants: list[Grant]
    seeds: dict[str, str] = field(default_factory=dict)

    @classmethod
    def generate(cls, grants: Sequence[Grant], *, admin: bool = True) -> NatsUsers:
        names = [g.service for g in grants] + ([ADMIN] if admin else [])
        return cls(list(grants), {name: new_seed() for name in names})

    def config(self) -> str:
        return authorization(self.grants, [(public_key(seed), None if name == ADMIN else name)
                                           for name, seed in self.seeds.items()])

    def inbox_prefix(self, name: str) -> str:
        return next((g.inbox_prefix for g in self.grants if g.service == name), "_INBOX")


SLOTS = ("A", "B")


def deployed_authorization(services: Sequence[str]) -> str:
    """deploy/'s authorization (``python -m kit.messaging.trust cofor identity support``): the permissions as the
    code declares them, and two key slots per service whose public keys come from the NATS pods' environment, so
    that a credential is rotated with both valid for a while (deploy/README.md)."""
    grants = [declared_grant(name) for name in services]
    keys = [(f"$NATS_NKEY_{g.service.upper()}_{slot}", g.service) for g in grants for slot in SLOTS]
    return ("# Generated by `python -m kit.messaging.trust " + " ".join(services) + "` from the services' declarations;\n"
            "# tests/deploy checks it is current. Each service may use only its own subjects and consumers.\n"
            + authorization(grants, keys))


if __name__ == "__main__":
    import sys

    print(deployed_authorization(sys.argv[1:]), end="")
