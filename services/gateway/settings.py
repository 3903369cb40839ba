"""Gateway configuration (environment variables)."""
from __future__ import annotations

from pydantic import SecretStr
from pydantic_settings import BaseSettings, SettingsConfigDict

from kit.settings import Environment


class GatewaySettings(BaseSettings):
    model_config = SettingsConfigDict(extra="ignore", frozen=True)

    environment: Environment = "development"
    gateway_host: str = "127.0.0.1"
    gateway_port: int = 8080
    service_token: SecretStr = SecretStr("")  # the gateway's own service credential
    cofor_target: str = "127.0.0.1:50051"
    identity_target: str = "127.0.0.1:50052"
    support_target: str = "127.0.0.1:50053"
    log_level: str = "INFO"
