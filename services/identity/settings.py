"""identity's configuration (environment variables, unprefixed)."""
from __future__ import annotations

from typing import ClassVar, Literal

from pydantic import Field, SecretStr

from kit.db import default_sqlite_url
from kit.settings import ServiceSettings, https_problem

from identity.adapters.factor_box import DEVELOPMENT_KEY, key_problem


class IdentitySettings(ServiceSettings):
    # cofor's events (access requested, terms accepted, supplier deactivated...), read by its own durable consumer.
    nats_consumers: ClassVar[tuple[tuple[str, str], ...]] = (("COFOR", "identity-cofor-events"),)

    service_name: str = "identity"
    grpc_port: int = 50052
    database_url: str = default_sqlite_url("identity")
    mail_seal_public_key: str = ""

    # argon2id (OWASP minimum by default); hashes made with other parameters are upgraded at the next login.
    argon2_memory_kib: int = Field(default=19_456, ge=1024)
    argon2_time_cost: int = Field(default=2, ge=1)
    argon2_parallelism: int = Field(default=1, ge=1)
    hash_workers: int = Field(default=0, ge=0, description="0: one per core")

    password_min_length: int = Field(default=15, ge=8, le=64)
    password_history: int = Field(default=5, ge=1, le=24)
    password_max_age_days: int = Field(default=0, ge=0)  # 0: passwords never expire (NIST rev. 4)
    lockout_threshold: int = Field(default=5, ge=1, le=100)
    previous_password_block_days: int = Field(default=30, ge=0)  # 0: presenting an old password does not block
    temporary_password_hours: int = Field(default=72, ge=1)
    self_service_reset_minutes: int = Field(default=60, ge=5)
    session_idle_minutes: int = Field(default=30, ge=1)
    session_absolute_hours: int = Field(default=12, ge=1)
    # ValidateSession answers from a per-process cache. Revocations are broadcast to every replica at once;
    # this bounds the staleness if a broadcast is lost. 0 turns the cache off.
    session_cache_seconds: float = Field(default=30.0, ge=0, le=300)

    # Second factors (ARCHITECTURE §15). TOTP secrets are encrypted at rest with this key (32 random bytes,
    # base64; from a Secret). Changing it makes every enrolled app unusable: its holders need a factor reset.
    factor_secret_key: SecretStr = SecretStr(DEVELOPMENT_KEY)
    second_factor_attempts: int = Field(default=5, ge=1, le=20)  # wrong codes before a factor is locked
    second_factor_minutes: int = Field(default=5, ge=1, le=30)  # how long a session waits for the factor
    totp_issuer: str = "Portail B2B Fournisseurs"  # the name authenticator apps show
    # Passkeys are bound to the portal's domain (the relying party) and accepted only from its pages' origins
    # (comma-separated, exact: scheme, host and port). Browsers refuse an IP address: develop on localhost.
    webauthn_rp_id: str = "localhost"
    webauthn_rp_name: str = "Portail B2B Fournisseurs"
    webauthn_origins: str = "http://localhost:8080"

    # The OpenID Connect provider (ARCHITECTURE §14): the issuer is the portal's public origin, under which the
    # gateway serves the protocol's endpoints; tokens are signed with ES256 (RS256 for applications that need it).
    oidc_issuer: str = "http://localhost:8080"
    oidc_signing_alg: Literal["ES256", "RS256"] = "ES256"

    # Public calls, counted in the database (every replica sees the same counts).
    login_limit_per_client_per_minute: int = Field(default=30, ge=1)
    login_limit_per_identifier_per_minute: int = Field(default=10, ge=1)
    recovery_limit_per_hour: int = Field(default=5, ge=1)  # per identifier and per e-mail
    recovery_limit_per_client_per_hour: int = Field(default=20, ge=1)
    # "Ask my company's ASL for an account" (RequestAccount): only the client's limit refuses; past the e-mail's, that
    # address is mailed no more; past the company's, requests are accepted but no longer relayed to its ASLs.
    account_request_limit_per_client_per_hour: int = Field(default=10, ge=1)
    # Each new account is a mail to an address an ASL typed: a day's onboarding of a large supplier fits, a spam run
    # from a rogue ASL does not.
    account_creation_limit_per_company_per_day: int = Field(default=1000, ge=1)
    account_request_limit_per_email_per_day: int = Field(default=3, ge=1)
    account_request_limit_per_company_per_day: int = Field(default=10, ge=1)

    def production_problems(self) -> list[str]:
        problems = super().production_problems()
        if not self.mail_seal_public_key.strip():
            problems.append("MAIL_SEAL_PUBLIC_KEY: empty; temporary passwords could not be sealed to the mailer")
        if problem := key_problem(self.factor_secret_key.get_secret_value()):
            problems.append(problem)
        if self.webauthn_rp_id in ("", "localhost"):
            problems.append("WEBAUTHN_RP_ID: the portal's domain is needed (passkeys are bound to it)")
        problems += https_problem("OIDC_ISSUER", self.oidc_issuer)
        for origin in self.passkey_origins or ("",):
            problems += https_problem("WEBAUTHN_ORIGINS", origin)
        return problems

    @property
    def passkey_origins(self) -> tuple[str, ...]:
        return tuple(o.strip().rstrip("/") for o in self.webauthn_origins.split(",") if o.strip())
