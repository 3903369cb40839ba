"""How portalctl reaches the services: targets and the operator's service credential."""
from __future__ import annotations

import getpass
import os
import sys
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

import grpc
from google.protobuf.message import Message
from portal.cofor.v1 import cofor_service_pb2_grpc

from kit.auth import SERVICE_TOKEN_KEY, agent_metadata
from kit.client import failure_of

PORTS = {"cofor": 50051, "identity": 50052, "support": 50053}  # `make run`'s, shifted by PORTAL_PORT_OFFSET


def var_dir() -> Path:
    """`make run`'s var/: PORTAL_VAR_DIR, else the one of the checkout portalctl runs from, wherever the cwd is."""
    given = os.environ.get("PORTAL_VAR_DIR")
    return Path(given) if given else Path(__file__).resolve().parents[2] / "var"


def operator_token() -> str:
    """PORTAL_OPERATOR_TOKEN, or in development the token `make run` generated under var/secrets/."""
    token = os.environ.get("PORTAL_OPERATOR_TOKEN")
    if token:
        return token
    dev = var_dir() / "secrets" / "dev.env"
    if dev.exists():
        for line in dev.read_text().split():
            if line.startswith("OPERATOR_SERVICE_TOKEN="):
                return line.split("=", 1)[1]
    sys.exit("no operator credential: set PORTAL_OPERATOR_TOKEN (or start the dev stack with `make run`)")


def target(service: str) -> str:
    """<SERVICE>_TARGET, else `make run`'s address for it (beside a shifted stack too: PORTAL_PORT_OFFSET)."""
    offset = int(os.environ.get("PORTAL_PORT_OFFSET", "0") or 0)
    return os.environ.get(f"{service.upper()}_TARGET", f"127.0.0.1:{PORTS[service] + offset}")


def agent_name(given: str | None = None) -> str:
    """The person at the keyboard, recorded with every decision: --agent, else $PORTAL_AGENT, else the login."""
    named = given or os.environ.get("PORTAL_AGENT") or os.environ.get("USER")
    if named:
        return named
    try:
        return getpass.getuser()  # LOGNAME, USERNAME, else the password database
    except (KeyError, OSError):
        return ""


async def call(service: str, stub_class: type, method: str, request: Message, *, agent: str = "") -> Message:
    metadata = [(SERVICE_TOKEN_KEY, operator_token())] + ([agent_metadata(agent)] if agent else [])
    async with grpc.aio.insecure_channel(target(service)) as channel:
        rpc: Callable[..., Awaitable[Message]] = getattr(stub_class(channel), method)
        return await rpc(request, metadata=metadata, timeout=30)


async def call_cofor(method: str, request: Any, agent: str = "") -> Any:
    """A call to the supplier registry, for ``portalctl cofor``'s commands (cofor_commands.py and
    cofor_access_commands.py)."""
    return await call("cofor", cofor_service_pb2_grpc.CoforServiceStub, method, request, agent=agent)


async def pages(fetch: Callable[[Any], Awaitable[Any]], request: Any, items: str) -> list[Any]:
    """Every item of a paged List/Search RPC (``items``: the repeated field of its pages), all pages read."""
    found: list[Any] = []
    while True:
        page = await fetch(request)
        found.extend(getattr(page, items))
        if not page.next_page_token:
            return found
        request.page_token = page.next_page_token


def explain(error: grpc.aio.AioRpcError) -> int:
    failure = failure_of(error)
    print(f"error: {failure.code.name} {failure.reason}: {failure.message}", file=sys.stderr)
    for field, description in failure.field_violations:
        print(f"  {field}: {description}", file=sys.stderr)
    for subject in failure.precondition_subjects:
        print(f"  missing: {subject}", file=sys.stderr)
    return 1
