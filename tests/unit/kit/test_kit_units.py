"""Pure units of the kit: settings validation, sealed secrets, service credentials."""
from __future__ import annotations

import hashlib

import pytest

from kit.auth import ServiceCredentials
from kit.sealed import SealError, SealKeyPair, seal, unseal
from kit.settings import ServiceSettings, load_settings


def test_bad_settings_exit_with_one_clear_line_per_variable(capsys: pytest.CaptureFixture[str],
                                                            monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("GRPC_PORT", "not-a-port")
    monkeypatch.delenv("DATABASE_URL", raising=False)
    with pytest.raises(SystemExit) as exit_info:
        load_settings(ServiceSettings, service_name="x")
    assert exit_info.value.code == 2
    err = capsys.readouterr().err
    assert "GRPC_PORT:" in err and "DATABASE_URL:" in err and "Traceback" not in err


def test_settings_come_from_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("GRPC_PORT", "50999")
    monkeypatch.setenv("DATABASE_URL", "postgresql+asyncpg://u@h/db")
    s = load_settings(ServiceSettings, service_name="x")
    assert s.grpc_port == 50999 and s.is_postgres


def test_sealed_secrets_open_only_with_the_mailer_key() -> None:
    mailer, other = SealKeyPair.generate(), SealKeyPair.generate()
    box = seal(mailer.public_key, {"temporary_password": "Tr0ub4dor&3-correct-horse"})
    assert b"Tr0ub4dor" not in box
    assert unseal(mailer.private_key, box) == {"temporary_password": "Tr0ub4dor&3-correct-horse"}
    with pytest.raises(SealError):
        unseal(other.private_key, box)
    with pytest.raises(SealError):
        seal("", {"x": "y"})


def test_service_credentials_accept_plain_and_digest_forms() -> None:
    digest = hashlib.sha256(b"ops-token").hexdigest()
    creds = ServiceCredentials(f"gateway:public:gw-token, operator:purchasing+support:sha256={digest}")
    gateway = creds.identify("gw-token")
    operator = creds.identify("ops-token")
    assert gateway is not None and gateway.name == "gateway" and gateway.roles == {"public"}
    assert operator is not None and operator.roles == {"purchasing", "support"}
    assert creds.identify("wrong") is None and creds.identify(None) is None
    with pytest.raises(ValueError):
        ServiceCredentials("malformed-entry")
