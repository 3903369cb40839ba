"""cofor's configuration (environment variables, unprefixed)."""
from __future__ import annotations

from typing import ClassVar

from kit.db import default_sqlite_url
from kit.settings import ServiceSettings


class CoforSettings(ServiceSettings):
    # identity's events (accounts created, locked, disabled...), read by its own durable consumer.
    nats_consumers: ClassVar[tuple[tuple[str, str], ...]] = (("IDENTITY", "cofor-identity-events"),)

    service_name: str = "cofor"
    grpc_port: int = 50051
    database_url: str = default_sqlite_url("cofor")
    # Producers seal mail secrets (acceptance links, presenter tokens) to the mailer's public key.
    mail_seal_public_key: str = ""
    # Version of the General Terms of Use in force: the last of gateway/terms/versions.toml. AcceptTerms must name it.
    terms_version: str = "2026-12"

    def production_problems(self) -> list[str]:
        problems = super().production_problems()
        if not self.mail_seal_public_key.strip():
            problems.append("MAIL_SEAL_PUBLIC_KEY: empty; mail secrets could not be sealed to the mailer")
        return problems
