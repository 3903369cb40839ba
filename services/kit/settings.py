"""Configuration from the environment, validated at start with a clear message."""
from __future__ import annotations

import hashlib
import re
import sys
from typing import Any, ClassVar, Literal, TypeVar
from urllib.parse import urlsplit

from pydantic import Field, SecretStr, ValidationError, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

from kit.messaging.credentials import development_seed, public_key, uses_tls

Environment = Literal["development", "test", "production"]

# A secret that is one of these is a stand-in: the development overlay's values, the README's, a forgotten default.
PLACEHOLDER = re.compile(r"change[-_ ]?me|development[-_]only|placeholder|^(dev|test|secret|password|token|todo|x+)$",
                         re.IGNORECASE)
DEVELOPMENT_TOKENS = ("development-only-gateway-token", "development-only-operator-token")
_DEVELOPMENT_DIGESTS = {hashlib.sha256(t.encode()).hexdigest() for t in DEVELOPMENT_TOKENS}
_DIGEST = re.compile(r"sha256=[0-9a-f]{64}")


def is_placeholder(value: str) -> bool:
    return not value.strip() or bool(PLACEHOLDER.search(value.strip()))


class ProductionRefusal(ValueError):
    """Settings a production process must not start with; each problem is one line for the operator."""

    def __init__(self, problems: list[str]) -> None:
        super().__init__("; ".join(problems))
        self.problems = problems


def refuse_in_production(environment: str, problems: list[str]) -> None:
    if environment == "production" and problems:
        raise ProductionRefusal(problems)


def https_problem(name: str, url: str) -> list[str]:
    return [] if urlsplit(url).scheme == "https" and urlsplit(url).hostname else \
        [f"{name}: production needs an https:// address, got {url!r}"]


class NatsClientSettings(BaseSettings):
    """How a process reaches NATS with its own credential: a service, or the stream provisioner
    (kit.messaging.provision). Production refuses what would let another process pass for it."""

    model_config = SettingsConfigDict(extra="ignore", env_file=None, frozen=True)

    environment: Environment = "development"
    log_level: str = "INFO"

    nats_url: str = "nats://127.0.0.1:4222"
    # This process's own NATS credential (an NKEY seed, from a Secret). TLS: a ``tls://`` URL, the CA that signed
    # the servers' certificates (else the system's), and a client certificate if the servers ask for one.
    nats_nkey_seed: SecretStr = SecretStr("")
    nats_ca_file: str = ""
    nats_cert_file: str = ""
    nats_key_file: str = ""

    @property
    def nats_user(self) -> str:
        """Whose credential ``nats_nkey_seed`` is (a service's name, ``provisioner``)."""
        raise NotImplementedError

    def production_problems(self) -> list[str]:
        """What production refuses (ARCHITECTURE §10); subclasses add their own. Never quotes a secret."""
        problems = []
        if not uses_tls(self.nats_url):
            problems.append(f"NATS_URL: production reaches NATS over TLS only (tls://...), got {self.nats_url!r}")
        seed = self.nats_nkey_seed.get_secret_value()
        try:
            public_key(seed)
        except ValueError:
            problems.append(f"NATS_NKEY_SEED: production needs {self.nats_user}'s own NATS credential (a user NKEY "
                            "seed)")
        if seed.strip() == development_seed(self.nats_user):
            problems.append("NATS_NKEY_SEED: the development overlay's published seed")
        if bool(self.nats_cert_file) != bool(self.nats_key_file):
            problems.append("NATS_CERT_FILE, NATS_KEY_FILE: a client certificate needs both")
        return problems

    @model_validator(mode="after")
    def _refuse_in_production(self) -> NatsClientSettings:
        refuse_in_production(self.environment, self.production_problems())
        return self


class ServiceSettings(NatsClientSettings):
    """Settings every service process reads. Each service subclasses it with its own defaults.

    Variables are unprefixed (12-factor: one process, one environment), e.g. ``DATABASE_URL``.
    """

    # The durable consumers the service owns, (stream, durable): NATS lets it read those and no others
    # (kit.messaging.trust turns them into permissions; ServiceApp refuses a consumer not declared here).
    nats_consumers: ClassVar[tuple[tuple[str, str], ...]] = ()

    service_name: str

    grpc_host: str = "127.0.0.1"
    grpc_port: int = Field(ge=0, le=65535)
    metrics_port: int = Field(default=0, ge=0, le=65535, description="0 disables the Prometheus endpoint")
    enable_reflection: bool = True
    shutdown_grace_seconds: float = Field(default=10.0, gt=0)

    database_url: str
    db_pool_size: int = Field(default=10, ge=1)

    relay_batch_size: int = Field(default=500, ge=1, le=10_000)
    relay_poll_seconds: float = Field(default=1.0, gt=0)
    consumer_max_deliver: int = Field(default=6, ge=1)
    # How long JetStream waits for an event's ack before handing it to another consumer process: after a crash,
    # what the dead process held waits this long. Shorter = faster recovery; it must stay above a batch's apply time.
    consumer_ack_wait_seconds: float = Field(default=30.0, ge=1, le=3600)

    # Service credentials: "name:role+role:token" entries separated by commas. In production the token part
    # is the SHA-256 hex digest of the token (prefix "sha256="), so the configuration holds no usable secret.
    service_credentials: SecretStr = SecretStr("")

    @property
    def consumer_options(self) -> dict[str, float]:
        """The settings every service's event consumer takes (``EventConsumer(**options)``)."""
        return {"max_deliver": self.consumer_max_deliver, "ack_wait": self.consumer_ack_wait_seconds}

    @property
    def is_postgres(self) -> bool:
        return self.database_url.startswith("postgresql")

    @property
    def nats_user(self) -> str:
        return self.service_name

    def production_problems(self) -> list[str]:
        problems = super().production_problems()
        entries = [e.strip() for e in self.service_credentials.get_secret_value().split(",") if e.strip()]
        if not entries:
            problems.append("SERVICE_CREDENTIALS: empty; production needs the digests of its callers' tokens")
        for entry in entries:
            name, _, secret = entry.rpartition(":")
            caller = name.split(":", 1)[0] or "?"
            if not _DIGEST.fullmatch(secret):
                problems.append(f"SERVICE_CREDENTIALS: {caller}'s entry is not a sha256=<64 hex> digest (plaintext?)")
            elif secret[7:] in _DEVELOPMENT_DIGESTS:
                problems.append(f"SERVICE_CREDENTIALS: {caller}'s token is a development token")
        password = urlsplit(self.database_url).password
        if password is not None and is_placeholder(password):
            problems.append("DATABASE_URL: its password is a placeholder")
        return problems


class MigrationSettings(BaseSettings):
    """What ``python -m <service> migrate`` reads: the database and nothing else, so that the Deployments'
    initContainer (the ConfigMap and DATABASE_URL only, no NATS seed or service credentials) runs in production."""

    model_config = SettingsConfigDict(extra="ignore", env_file=None, frozen=True)

    environment: Environment = "development"
    log_level: str = "INFO"
    database_url: str

    @model_validator(mode="after")
    def _refuse_in_production(self) -> MigrationSettings:
        password = urlsplit(self.database_url).password
        if password is not None and is_placeholder(password):
            refuse_in_production(self.environment, ["DATABASE_URL: its password is a placeholder"])
        return self


S = TypeVar("S", bound=BaseSettings)


def load_settings(cls: type[S], **overrides: Any) -> S:
    """Build settings or exit with one line per bad variable or production refusal (never a traceback)."""
    try:
        return cls(**overrides)
    except ValidationError as exc:
        lines = [f"configuration error in {cls.__name__}:"]
        for err in exc.errors():
            refusal = (err.get("ctx") or {}).get("error")
            if isinstance(refusal, ProductionRefusal):
                lines += [f"  {problem}" for problem in refusal.problems]
                continue
            name = "_".join(str(p) for p in err["loc"]).upper() or "?"
            lines.append(f"  {name}: {err['msg']}")
        print("\n".join(lines), file=sys.stderr)
        raise SystemExit(2) from None
