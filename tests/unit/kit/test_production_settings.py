"""Review finding 16 (ARCHITECTURE §10): production refuses to start with development credentials, placeholder
secrets, plaintext service credentials, an http public URL or NATS without TLS; one line per problem, exit 2. The
development defaults still start, and production hides the API description."""
from __future__ import annotations

import base64
import hashlib
from typing import Any

import httpx
import pytest
from pydantic import ValidationError

from kit.messaging.credentials import development_seed, new_seed
from kit.settings import DEVELOPMENT_TOKENS, MigrationSettings, load_settings

from cofor.settings import CoforSettings
from gateway.app import create_app
from gateway.settings import GatewaySettings
from identity.settings import IdentitySettings
from support.settings import SupportSettings

DIGEST = "sha256=" + hashlib.sha256(b"a real token, made by secrets.token_urlsafe").hexdigest()
NATS = "tls://nats-0.nats-headless:4222,tls://nats-1.nats-headless:4222"


def production(**changes: Any) -> dict[str, Any]:
    """Settings production accepts, with ``changes``."""
    good = {"environment": "production", "nats_url": NATS, "nats_nkey_seed": new_seed(),
            "service_credentials": f"gateway:public:{DIGEST}", "mail_seal_public_key": "public-half",
            "mail_seal_private_key": "private-half-of-the-pair", "portal_public_url": "https://suppliers.example",
            "database_url": "postgresql+asyncpg://cofor:Zq8vR2mK9xLp4TnW@portal-db-rw:5432/cofor",
            "factor_secret_key": base64.b64encode(b"k" * 31 + b"!").decode(),
            "webauthn_rp_id": "suppliers.example", "webauthn_origins": "https://suppliers.example",
            "oidc_issuer": "https://suppliers.example"}
    return {**good, **changes}


@pytest.mark.parametrize("cls", [CoforSettings, IdentitySettings, SupportSettings])
def test_production_starts_with_real_secrets_and_development_with_its_defaults(cls: type) -> None:
    assert cls(**production()).environment == "production"
    assert cls().environment == "development"  # `make run` and the tests: no secret needed


REFUSALS = [
    ("NATS_URL", {"nats_url": "nats://nats-0.nats-headless:4222"}),
    ("NATS_URL", {"nats_url": "tls://nats-0:4222,nats://nats-1:4222"}),  # one plain server is enough to refuse
    ("NATS_NKEY_SEED", {"nats_nkey_seed": ""}),
    ("NATS_NKEY_SEED", {"nats_nkey_seed": "change-me"}),
    ("NATS_NKEY_SEED", {"nats_nkey_seed": development_seed("cofor")}),
    ("NATS_CERT_FILE", {"nats_cert_file": "/etc/nats-client/tls.crt"}),
    ("SERVICE_CREDENTIALS", {"service_credentials": ""}),
    ("SERVICE_CREDENTIALS", {"service_credentials": "gateway:public:gw-secret"}),  # plaintext token
    ("SERVICE_CREDENTIALS", {"service_credentials": "operator:internal:sha256="
                             + hashlib.sha256(DEVELOPMENT_TOKENS[1].encode()).hexdigest()}),
    ("DATABASE_URL", {"database_url": "postgresql+asyncpg://cofor:development-only-cofor-password@db/cofor"}),
    ("MAIL_SEAL_PUBLIC_KEY", {"mail_seal_public_key": ""}),
]


PASSKEY_REFUSALS = [
    ("WEBAUTHN_RP_ID", {"webauthn_rp_id": "localhost"}),
    ("WEBAUTHN_ORIGINS", {"webauthn_origins": "http://suppliers.example"}),
    ("WEBAUTHN_ORIGINS", {"webauthn_origins": "https://suppliers.example, http://suppliers.example:8080"}),
    ("WEBAUTHN_ORIGINS", {"webauthn_origins": ""}),
    ("OIDC_ISSUER", {"oidc_issuer": "http://suppliers.example"}),  # tokens would name an issuer anyone can fake
]


@pytest.mark.parametrize("variable, changes", PASSKEY_REFUSALS, ids=[v for v, _ in PASSKEY_REFUSALS])
def test_production_refuses_passkeys_bound_to_no_real_site(variable: str, changes: dict[str, Any]) -> None:
    with pytest.raises(ValidationError, match=variable):
        IdentitySettings(**production(**changes))
    IdentitySettings(**{**production(**changes), "environment": "development"})


@pytest.mark.parametrize("variable, changes", REFUSALS, ids=[f"{v}-{i}" for i, (v, _) in enumerate(REFUSALS)])
def test_production_refuses(variable: str, changes: dict[str, Any]) -> None:
    with pytest.raises(ValidationError, match=variable):
        CoforSettings(**production(**changes))
    CoforSettings(**{**production(**changes), "environment": "development"})  # development takes it


@pytest.mark.parametrize("variable, changes", [
    ("PORTAL_PUBLIC_URL", {"portal_public_url": "http://suppliers.example"}),
    ("MAIL_SEAL_PRIVATE_KEY", {"mail_seal_private_key": ""}),
    ("MAIL_SEAL_PRIVATE_KEY", {"mail_seal_private_key": "CHANGE-ME"}),
    ("SMTP_PASSWORD", {"smtp_password": "development-only-smtp-password"}),
])
def test_production_refuses_in_the_mailer(variable: str, changes: dict[str, Any]) -> None:
    with pytest.raises(ValidationError, match=variable):
        SupportSettings(**production(**changes))


@pytest.mark.parametrize("token", ["", "development-only-gateway-token", "change-me", "short-but-random-9f8e"])
def test_production_gateway_refuses_a_placeholder_token(token: str) -> None:
    with pytest.raises(ValidationError, match="SERVICE_TOKEN"):
        GatewaySettings(environment="production", service_token=token)
    GatewaySettings(environment="development", service_token=token)


def test_every_problem_is_one_line_and_the_exit_status_is_2(capsys: pytest.CaptureFixture[str],
                                                            monkeypatch: pytest.MonkeyPatch) -> None:
    for name, value in {"ENVIRONMENT": "production", "NATS_URL": "nats://nats:4222", "PORTAL_PUBLIC_URL":
                        "http://portal", "SERVICE_CREDENTIALS": "gateway:public:plain-token"}.items():
        monkeypatch.setenv(name, value)
    with pytest.raises(SystemExit) as exit_info:
        load_settings(SupportSettings)
    assert exit_info.value.code == 2
    lines = capsys.readouterr().err.splitlines()
    assert lines[0] == "configuration error in SupportSettings:"
    problems = [line.strip().split(":")[0] for line in lines[1:]]
    assert problems == ["NATS_URL", "NATS_NKEY_SEED", "SERVICE_CREDENTIALS", "PORTAL_PUBLIC_URL",
                        "MAIL_SEAL_PRIVATE_KEY"]
    assert "plain-token" not in "\n".join(lines)  # a refusal never quotes a secret


@pytest.mark.parametrize("environment, status", [("production", 404), ("development", 200)])
async def test_the_api_description_is_published_outside_production_only(environment: str, status: int) -> None:
    app = create_app(GatewaySettings(environment=environment, service_token="Qx7-" * 10))
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://portal.test",
                                 follow_redirects=True) as web:  # /docs -> /docs/: a page path, unknown
        for path in ("/docs", "/openapi.json", "/redoc"):
            assert (await web.get(path)).status_code == status, path


def test_migrations_need_the_database_only_and_refuse_a_placeholder_password() -> None:
    """The Deployments' initContainer has the ConfigMap and DATABASE_URL, no NATS seed or service credentials."""
    url = "postgresql+asyncpg://cofor:Zq8vR2mK9xLp4TnW@portal-db-rw:5432/cofor"
    assert MigrationSettings(environment="production", database_url=url).database_url == url
    with pytest.raises(ValidationError, match="DATABASE_URL: its password is a placeholder"):
        MigrationSettings(environment="production", database_url=url.replace("Zq8vR2mK9xLp4TnW", "change-me"))
