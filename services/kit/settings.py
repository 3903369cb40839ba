"""Configuration from the environment, validated at start with a clear message."""
from __future__ import annotations

import sys
from typing import Literal, TypeVar

from pydantic import Field, SecretStr, ValidationError
from pydantic_settings import BaseSettings, SettingsConfigDict

Environment = Literal["development", "test", "production"]


class ServiceSettings(BaseSettings):
    """Settings every service process reads. Each service subclasses it with its own defaults.

    Variables are unprefixed (12-factor: one process, one environment), e.g. ``DATABASE_URL``.
    """

    model_config = SettingsConfigDict(extra="ignore", env_file=None, frozen=True)

    service_name: str
    environment: Environment = "development"
    log_level: str = "INFO"

    grpc_host: str = "127.0.0.1"
    grpc_port: int = Field(ge=0, le=65535)
    metrics_port: int = Field(default=0, ge=0, le=65535, description="0 disables the Prometheus endpoint")
    enable_reflection: bool = True
    shutdown_grace_seconds: float = Field(default=10.0, gt=0)

    database_url: str
    db_pool_size: int = Field(default=10, ge=1)

    nats_url: str = "nats://127.0.0.1:4222"
    nats_stream_replicas: int = Field(default=1, ge=1, le=5)
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


S = TypeVar("S", bound=BaseSettings)


def load_settings(cls: type[S], **overrides: object) -> S:
    """Build settings or exit with one line per bad variable (never a traceback)."""
    try:
        return cls(**overrides)  # type: ignore[arg-type]
    except ValidationError as exc:
        lines = [f"configuration error in {cls.__name__}:"]
        for err in exc.errors():
            name = "_".join(str(p) for p in err["loc"]).upper() or "?"
            lines.append(f"  {name}: {err['msg']}")
        print("\n".join(lines), file=sys.stderr)
        raise SystemExit(2) from None
