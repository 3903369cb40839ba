"""``python -m gateway``: serve the HTTP front with uvicorn."""
from __future__ import annotations

import uvicorn

from kit.logging import configure_logging
from kit.settings import load_settings

from gateway.app import create_app
from gateway.settings import GatewaySettings


def main() -> None:
    settings = load_settings(GatewaySettings)
    configure_logging("gateway", settings.log_level)
    uvicorn.run(create_app(settings), host=settings.gateway_host, port=settings.gateway_port,
                log_config=None, access_log=False)


if __name__ == "__main__":
    main()
