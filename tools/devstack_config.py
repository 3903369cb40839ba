"""What `make run` (tools/devstack.py) gives each process: the ports (shifted by PORTAL_PORT_OFFSET), the
development secrets under var/secrets/, each service's NATS credential, and each process's environment."""
from __future__ import annotations

import os
import secrets
from dataclasses import dataclass
from pathlib import Path

from kit.messaging.credentials import new_seed
from kit.messaging.trust import PROVISIONER, NatsUsers, declared_grant
from kit.sealed import SealKeyPair


@dataclass(frozen=True)
class ServiceSpec:
    name: str
    grpc_port: int
    metrics_port: int


# PORTAL_PORT_OFFSET shifts every port, so a second stack (tests, a colleague) can run beside the first.
_OFFSET = int(os.environ.get("PORTAL_PORT_OFFSET", "0"))
SERVICES = [ServiceSpec("cofor", 50051 + _OFFSET, 9101 + _OFFSET),
            ServiceSpec("identity", 50052 + _OFFSET, 9102 + _OFFSET),
            ServiceSpec("support", 50053 + _OFFSET, 9103 + _OFFSET)]
GATEWAY_PORT = 8080 + _OFFSET
NATS_PORT = 4222 + _OFFSET
SMTP_PORT = 1025 + _OFFSET
DEMO_APP_PORT = 8090 + _OFFSET  # the demo application signing in with the portal (tools/demo_app.py)


def var_dir() -> Path:
    return Path(os.environ.get("PORTAL_VAR_DIR", "var")).resolve()


def dev_secrets(root: Path) -> dict[str, str]:
    """Development secrets, made once and kept in var/secrets/dev.env (never committed)."""
    path = root / "secrets" / "dev.env"
    if not path.exists():
        path.parent.mkdir(parents=True, exist_ok=True)
        path.parent.chmod(0o700)  # var/secrets/: this user's only
        keys = SealKeyPair.generate()
        values = {
            "MAIL_SEAL_PUBLIC_KEY": keys.public_key,
            "MAIL_SEAL_PRIVATE_KEY": keys.private_key,
            "GATEWAY_SERVICE_TOKEN": secrets.token_urlsafe(32),
            "OPERATOR_SERVICE_TOKEN": secrets.token_urlsafe(32),
        }
        path.write_text("".join(f"{k}={v}\n" for k, v in values.items()))
        path.chmod(0o600)
    return dict(line.split("=", 1) for line in path.read_text().split() if "=" in line)


def nats_users(root: Path) -> NatsUsers:
    """Each service's own NATS credential and the stream provisioner's (NKEY seeds), made once under
    var/secrets/nats/ (0600, never committed); the server gets the public keys and each one's permissions
    (kit.messaging.trust)."""
    folder = root / "secrets" / "nats"
    folder.mkdir(parents=True, exist_ok=True)
    folder.chmod(0o700)
    seeds = {}
    for name in [spec.name for spec in SERVICES] + [PROVISIONER]:
        path = folder / f"{name}.nk"
        if not path.exists():
            descriptor = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)  # never readable by others
            with os.fdopen(descriptor, "w") as out:
                out.write(new_seed())
        seeds[name] = path.read_text().strip()
    return NatsUsers([declared_grant(spec.name) for spec in SERVICES], seeds)


def service_env(spec: ServiceSpec, root: Path, secret: dict[str, str], nats_seed: str = "") -> dict[str, str]:
    credentials = ",".join([
        f"gateway:public:{secret['GATEWAY_SERVICE_TOKEN']}",
        f"operator:purchasing+support+internal:{secret['OPERATOR_SERVICE_TOKEN']}",
    ])
    env = {
        **os.environ,
        "ENVIRONMENT": "development",
        "DATABASE_URL": f"sqlite+aiosqlite:///{root / 'db' / f'{spec.name}.sqlite3'}",
        "GRPC_HOST": "127.0.0.1",
        "GRPC_PORT": str(spec.grpc_port),
        "METRICS_PORT": str(spec.metrics_port),
        "NATS_URL": f"nats://127.0.0.1:{NATS_PORT}",
        "NATS_NKEY_SEED": nats_seed,  # its own credential only
        "SERVICE_CREDENTIALS": credentials,
        "MAIL_SEAL_PUBLIC_KEY": secret["MAIL_SEAL_PUBLIC_KEY"],
        "SMTP_HOST": "127.0.0.1",
        "SMTP_PORT": str(SMTP_PORT),
        "PORTAL_VAR_DIR": str(root),
    }
    if spec.name == "identity":  # passkeys: browsers refuse an IP address, so the pages are on localhost
        env["WEBAUTHN_ORIGINS"] = f"http://localhost:{GATEWAY_PORT}"
        env["OIDC_ISSUER"] = f"http://localhost:{GATEWAY_PORT}"  # the gateway serves the provider's endpoints
    if spec.name == "support":
        env["MAIL_SEAL_PRIVATE_KEY"] = secret["MAIL_SEAL_PRIVATE_KEY"]
        env["PORTAL_PUBLIC_URL"] = f"http://127.0.0.1:{GATEWAY_PORT}"
    return env


def gateway_env(root: Path, secret: dict[str, str]) -> dict[str, str]:
    return {
        **os.environ,
        "ENVIRONMENT": "development",
        "GATEWAY_HOST": "127.0.0.1",
        "GATEWAY_PORT": str(GATEWAY_PORT),
        "SERVICE_TOKEN": secret["GATEWAY_SERVICE_TOKEN"],
        "PORTAL_VAR_DIR": str(root),
        **{f"{s.name.upper()}_TARGET": f"127.0.0.1:{s.grpc_port}" for s in SERVICES},
    }
