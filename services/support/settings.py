"""support's configuration (environment variables, unprefixed)."""
from __future__ import annotations

from typing import ClassVar

from pydantic import Field, SecretStr

from kit.db import default_sqlite_url
from kit.settings import ServiceSettings, https_problem, is_placeholder


class SupportSettings(ServiceSettings):
    # Every service's mail requests, read by the mailer's durable consumer.
    nats_consumers: ClassVar[tuple[tuple[str, str], ...]] = (("NOTIFICATION", "support-mailer"),)

    service_name: str = "support"
    grpc_port: int = 50053
    database_url: str = default_sqlite_url("support")

    smtp_host: str = "127.0.0.1"
    smtp_port: int = 1025
    smtp_username: str = ""
    smtp_password: SecretStr = SecretStr("")
    smtp_tls: bool = False
    smtp_starttls: bool = False
    smtp_connections: int = Field(default=4, ge=1, le=32)
    mail_from: str = "Portail B2B Fournisseurs <no-reply@b2b-portal.example>"
    support_mailbox: str = "support@b2b-portal.example"
    portal_public_url: str = "http://127.0.0.1:8080"
    mail_seal_public_key: str = ""  # the mailer also requests mails (tickets) — nothing secret in them
    mail_seal_private_key: SecretStr = SecretStr("")
    mail_max_backoff_seconds: float = Field(default=300.0, gt=0)
    mail_poll_seconds: float = Field(default=2.0, gt=0)
    max_open_tickets_per_email: int = Field(default=5, ge=1)  # anonymous tickets, by e-mail
    max_open_tickets_per_identifier: int = Field(default=5, ge=1)  # tickets sent from a session, by V-identifier
    # Screenshots decoded at once (threads), and how many more may wait for one before new ones are refused.
    screenshot_decoders: int = Field(default=2, ge=1, le=16)
    screenshot_queue: int = Field(default=8, ge=0, le=256)

    def production_problems(self) -> list[str]:
        problems = super().production_problems() + https_problem("PORTAL_PUBLIC_URL", self.portal_public_url)
        if is_placeholder(self.mail_seal_private_key.get_secret_value()):
            problems.append("MAIL_SEAL_PRIVATE_KEY: empty or a placeholder; sealed mail secrets could not be opened")
        if self.smtp_password.get_secret_value() and is_placeholder(self.smtp_password.get_secret_value()):
            problems.append("SMTP_PASSWORD: a placeholder")
        return problems
