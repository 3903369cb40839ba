"""HTTP/JSON routes under /api/v1, one per public RPC, one module per area. Bodies are checked for shape here
(gateway/forms.py); the services check meaning. Replies are the services' messages in proto3 JSON."""
from __future__ import annotations

from fastapi import APIRouter

from gateway.api import access, company, console, contact, factors, help, login, passkeys, recovery, sessions
from gateway.api.console import CONSOLE_ACTIONS

__all__ = ["CONSOLE_ACTIONS", "router"]

router = APIRouter(prefix="/api/v1")
for area in (login, factors, passkeys, sessions, access, company, recovery, console, contact, help):
    router.include_router(area.router)
