"""Fixtures that start the real components: NATS with JetStream, PostgreSQL, SQLite files, an SMTP sink.

A component that cannot start fails the tests that need it; nothing is skipped.
"""
from __future__ import annotations

import os
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest

from testing.fleet import nats_users
from testing.processes import NatsServer, PostgresCluster

ROOT = Path(__file__).resolve().parents[1]


@pytest.fixture(scope="session")
def nats_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[NatsServer]:
    # With authorization: each service connects with its own credential (``server.settings("identity")``), the
    # tests' own reading and purging with the test administrator's (``await server.connect()``).
    server = NatsServer(tmp_path_factory.mktemp("nats"), users=nats_users()).start()
    yield server
    server.stop()


@pytest.fixture
def private_nats(tmp_path: Path) -> Iterator[NatsServer]:
    """A NATS server of the test's own, which the test may kill and restart."""
    server = NatsServer(tmp_path / "nats", users=nats_users()).start()
    yield server
    server.stop()


@pytest.fixture(scope="session")
def postgres() -> Iterator[PostgresCluster]:
    cluster = PostgresCluster().start()
    yield cluster
    cluster.destroy()


@pytest.fixture(params=["sqlite", "postgresql"])
def database_url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    """A fresh, empty database of each kind (the test migrates it)."""
    if request.param == "sqlite":
        yield f"sqlite+aiosqlite:///{tmp_path / 'test.sqlite3'}"
        return
    cluster: PostgresCluster = request.getfixturevalue("postgres")
    name = f"t_{uuid.uuid4().hex[:12]}"
    yield cluster.create_database(name)
    cluster.drop_database(name)


@pytest.fixture(autouse=True)
def _var_dir(tmp_path: Path) -> Iterator[None]:
    old = os.environ.get("PORTAL_VAR_DIR")
    os.environ["PORTAL_VAR_DIR"] = str(tmp_path / "var")
    yield
    if old is None:
        os.environ.pop("PORTAL_VAR_DIR", None)
    else:
        os.environ["PORTAL_VAR_DIR"] = old
