"""A request that does not even decode — invalid UTF-8 in any string field of any RPC — is bad input: INVALID_ARGUMENT
with one ErrorInfo (ARCHITECTURE §10), never gRPC's UNKNOWN with the decoder's message. Every string field of every
RPC of the three services, top-level and one level down, on the real services."""
from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from testing.processes import NatsServer

from .stack import Stack, running_stack
from .undecodable import undecodable_answers


@pytest.fixture
async def stack(tmp_path: Path, nats_server: NatsServer) -> AsyncIterator[Stack]:
    async with running_stack(tmp_path, nats_server) as s:
        yield s


async def test_invalid_utf8_in_any_string_field_is_invalid_argument(stack: Stack) -> None:
    checked, wrong = await undecodable_answers(stack)
    assert checked > 130 and not wrong, wrong
