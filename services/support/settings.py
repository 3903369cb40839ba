"""support's configuration (environment variables, unprefixed)."""
from __future__ import annotations

from kit.db import default_sqlite_url
from kit.settings import ServiceSettings


class SupportSettings(ServiceSettings):
    service_name: str = "support"
    grpc_port: int = 50053
    database_url: str = default_sqlite_url("support")
