"""Who may do what on NATS (ARCHITECTURE §9 "Trust"), derived from what each service declares.

A service's settings name the service and the durable consumers it owns (``ServiceSettings.nats_consumers``);
the rules below turn that into nats-server permissions. Everything not allowed is denied, so a connection with
one service's credential can publish only that service's events and read only that service's consumers:

- publish the subjects of the stream it produces (the one named after it, e.g. ``cofor.>``), mail requests
  (``kit.messaging.streams.EMAIL_SUBJECT``, into the shared NOTIFICATION stream) and its replicas' private broadcasts
  (``_portal.<service>.>``, e.g. identity's session revocations);
- look at (INFO) the streams it publishes to and reads from, nothing more: no create, update, delete or purge of
  any stream. Whoever may create or update a stream may give it ``republish``, ``sources``, a ``mirror`` or subject
  transforms, which the server checks against no subject permission: one service could then put its messages
  into another's stream, or read another's stream through its own consumer;
- create, look at, pull from and acknowledge its own durable consumers — nothing else of any stream: no purge,
  no delete, no direct get, no other consumer;
- receive replies only on its own inbox prefix (``_INBOX.<service>.>``).

The streams are made by the ``provisioner`` (``Provisioner``, ``python -m kit.messaging.provision``), whose
credential no service process holds: it may create, update and look at the four streams and create the declared
durables, and nothing else (no events, no deleting, no purging, no reading).
"""
from __future__ import annotations

import importlib
import json
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field

from kit.messaging.credentials import new_seed, public_key
from kit.messaging.streams import EMAIL_SUBJECT, STREAMS

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
    def streams(self) -> list[str]:
        """The streams it publishes to (its own, the shared one) and reads from: it only looks at them."""
        shared = {name for name in STREAMS if is_shared(name)}
        return sorted(set(self.own_streams) | shared | set(self.read_streams))

    def publish(self) -> list[str]:
        allowed = [subject for stream in self.own_streams for subject in STREAMS[stream]]
        allowed += [EMAIL_SUBJECT, self.broadcast]
        allowed += [f"{API}.STREAM.INFO.{stream}" for stream in self.streams]
        for stream, durable in self.consumers:
            consumer = f"{stream}.{durable}"
            allowed += [f"{API}.CONSUMER.CREATE.{consumer}", f"{API}.CONSUMER.DURABLE.CREATE.{consumer}",
                        f"{API}.CONSUMER.INFO.{consumer}", f"{API}.CONSUMER.MSG.NEXT.{consumer}",
                        f"$JS.ACK.{consumer}.>"]
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


PROVISIONER = "provisioner"


@dataclass(frozen=True)
class Provisioner:
    """The privileged step that makes the streams and the services' durables (``kit.messaging.streams.provision``)."""

    consumers: tuple[tuple[str, str], ...] = ()
    service: str = PROVISIONER

    @classmethod
    def of(cls, grants: Iterable[Grant]) -> Provisioner:
        return cls(tuple(c for g in grants for c in g.consumers))

    @property
    def inbox_prefix(self) -> str:
        return f"_INBOX.{self.service}"

    def publish(self) -> list[str]:
        allowed = [f"{API}.STREAM.{action}.{name}" for name in STREAMS for action in ("INFO", "CREATE", "UPDATE")]
        for stream, durable in self.consumers:
            allowed += [f"{API}.CONSUMER.INFO.{stream}.{durable}", f"{API}.CONSUMER.DURABLE.CREATE.{stream}.{durable}"]
        return allowed

    def permissions(self) -> dict[str, dict[str, list[str]]]:
        return {"publish": {"allow": self.publish()}, "subscribe": {"allow": [f"{self.inbox_prefix}.>"]}}


def variable(service: str) -> str:
    return f"PORTAL_{service.upper()}"


def permission_variables(holders: Iterable[Grant | Provisioner]) -> str:
    """nats.conf variables holding each user's permissions (``PORTAL_COFOR = {...}``)."""
    return "".join(f"{variable(h.service)} = {json.dumps(h.permissions(), indent=2)}\n" for h in holders)


def authorization(grants: Sequence[Grant], keys: Iterable[tuple[str, str | None]]) -> str:
    """A complete nats.conf authorization: ``keys`` are (NKEY public key or ``$ENV_VARIABLE``, service,
    ``PROVISIONER`` or None). None is an administrator without limits (tests only). Several keys of one user: a
    rotation under way."""
    everyone: list[Grant | Provisioner] = [*grants, Provisioner.of(grants)]
    holders = {h.service: h for h in everyone}
    users = []
    for key, user in keys:
        nkey = key if key.startswith("$") else json.dumps(key)
        if user is None:
            users.append(f"    {{nkey: {nkey}}}\n")
        else:
            if user not in holders:
                raise ValueError(f"no grant for {user}")
            users.append(f"    {{nkey: {nkey}, permissions: ${variable(user)}}}\n")
    return permission_variables(holders.values()) + "authorization {\n  users = [\n" + "".join(users) + "  ]\n}\n"


ADMIN = "admin"


@dataclass
class NatsUsers:
    """The users of one NATS server: a seed per service, the provisioner's (and, in tests only, an unrestricted
    ``admin``)."""

    grants: list[Grant]
    seeds: dict[str, str] = field(default_factory=dict)

    @classmethod
    def generate(cls, grants: Sequence[Grant], *, admin: bool = True) -> NatsUsers:
        names = [g.service for g in grants] + [PROVISIONER] + ([ADMIN] if admin else [])
        return cls(list(grants), {name: new_seed() for name in names})

    def config(self) -> str:
        return authorization(self.grants, [(public_key(seed), None if name == ADMIN else name)
                                           for name, seed in self.seeds.items()])

    @property
    def provisioner(self) -> Provisioner:
        return Provisioner.of(self.grants)

    def inbox_prefix(self, name: str) -> str:
        holders: list[Grant | Provisioner] = [*self.grants, self.provisioner]
        return next((h.inbox_prefix for h in holders if h.service == name), "_INBOX")


SLOTS = ("A", "B")


def deployed_authorization(services: Sequence[str]) -> str:
    """deploy/'s authorization (``python -m kit.messaging.trust cofor identity support``): the permissions as the
    code declares them, and two key slots per service and for the provisioner, whose public keys come from the NATS
    pods' environment, so that a credential is rotated with both valid for a while (deploy/README.md)."""
    grants = [declared_grant(name) for name in services]
    users = [g.service for g in grants] + [PROVISIONER]
    keys = [(f"$NATS_NKEY_{user.upper()}_{slot}", user) for user in users for slot in SLOTS]
    return ("# Generated by `python -m kit.messaging.trust " + " ".join(services)
            + "` from the services' declarations;\n"
            "# tests/deploy checks it is current. Each service may use only its own subjects and consumers and only\n"
            "# look at streams; the provisioner alone makes the streams (deploy/README.md).\n"
            + authorization(grants, keys))


if __name__ == "__main__":
    import sys

    print(deployed_authorization(sys.argv[1:]), end="")
