"""identity's configuration (environment variables, unprefixed)."""
from __future__ import annotations

from kit.db import default_sqlite_url
from kit.settings import ServiceSettings


class IdentitySettings(ServiceSettings):
    service_name: str = "identity"
    grpc_port: int = 50052
    database_url: str = default_sqlite_url("identity")
