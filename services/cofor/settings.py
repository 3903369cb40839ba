"""cofor's configuration (environment variables, unprefixed)."""
from __future__ import annotations

from kit.db import default_sqlite_url
from kit.settings import ServiceSettings


class CoforSettings(ServiceSettings):
    service_name: str = "cofor"
    grpc_port: int = 50051
    database_url: str = default_sqlite_url("cofor")
    # Producers seal mail secrets (acceptance links, presenter tokens) to the mailer's public key.
    mail_seal_public_key: str = ""
    # Version of the General Terms of Use in force; AcceptTerms must name it.
    terms_version: str = "2026-01"
