"""Production's transport (ARCHITECTURE §9): NATS over TLS from the first byte. A real service connects with a
``tls://`` URL and the CA file of its settings; a client that speaks plain NATS, or trusts another CA, gets nothing."""
from __future__ import annotations

import asyncio
import ssl
from collections.abc import Iterator
from pathlib import Path

import nats
import pytest

from kit.sealed import SealKeyPair
from testing.certificates import server_certificate
from testing.fleet import nats_users
from testing.processes import NatsServer

from cofor.bootstrap import build_app
from cofor.settings import CoforSettings


@pytest.fixture
def tls_nats(tmp_path: Path) -> Iterator[NatsServer]:
    server = NatsServer(tmp_path / "nats", users=nats_users(), tls=server_certificate(tmp_path / "tls")).start()
    yield server
    server.stop()


async def test_a_service_connects_over_tls_with_its_ca_file(tls_nats: NatsServer, tmp_path: Path) -> None:
    assert tls_nats.url.startswith("tls://")
    admin = await tls_nats.connect()
    app = build_app(CoforSettings(grpc_port=0, database_url=f"sqlite+aiosqlite:///{tmp_path / 'cofor.sqlite3'}",
                                  **tls_nats.settings("cofor"), mail_seal_public_key=SealKeyPair.generate().public_key,
                                  shutdown_grace_seconds=0.5))
    await app.start()
    try:
        await asyncio.wait_for(app.messaging_ready.wait(), 30)  # connected over TLS, its streams found
        assert app.nats is not None and app.nats.is_connected
        info = await admin.jetstream().stream_info("COFOR")
        assert info.config.subjects == ["cofor.>"]
    finally:
        await app.stop()
        await admin.close()


async def test_no_plain_text_and_no_other_ca(tls_nats: NatsServer, tmp_path: Path) -> None:
    seed = tls_nats.seed("cofor")
    plain = f"nats://127.0.0.1:{tls_nats.port}"
    with pytest.raises((TimeoutError, nats.errors.Error)):  # no TLS handshake: the server never says INFO
        await nats.connect(plain, nkeys_seed_str=seed, allow_reconnect=False, connect_timeout=2)
    other = server_certificate(tmp_path / "other")
    with pytest.raises(ssl.SSLCertVerificationError):  # a server the client's CA did not sign is not NATS to it
        await nats.connect(tls_nats.url, nkeys_seed_str=seed, allow_reconnect=False, connect_timeout=2,
                           tls=ssl.create_default_context(cafile=str(other.ca)), tls_handshake_first=True)
