"""Gateway configuration (environment variables)."""
from __future__ import annotations

from pydantic import Field, SecretStr, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

from kit.settings import Environment, is_placeholder, refuse_in_production


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
    # Requests per client address per minute, counted in this process (the services count their own too).
    rate_limit_per_minute: int = Field(default=300, ge=1)
    max_body_bytes: int = Field(default=7 * 1024 * 1024, ge=1024)  # a 5 MiB screenshot, base64 or multipart
    rpc_timeout_seconds: float = Field(default=15.0, gt=0)
    # Trust X-Forwarded-For from this many proxies in front of the gateway (0: use the socket's peer address).
    trusted_proxies: int = Field(default=0, ge=0, le=5)

    def production_problems(self) -> list[str]:
        token = self.service_token.get_secret_value()
        if is_placeholder(token) or len(token) < 32:
            return ["SERVICE_TOKEN: empty, short or a placeholder; production needs the gateway's own random token"]
        return []

    @model_validator(mode="after")
    def _refuse_in_production(self) -> GatewaySettings:
        refuse_in_production(self.environment, self.production_problems())
        return self
