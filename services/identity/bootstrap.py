"""Composition root of the identity service."""
from __future__ import annotations

from pathlib import Path

from kit.app import ServiceApp
from kit.db import Database

from identity.entrypoints.grpc_servicer import SERVICE_NAME, register
from identity.settings import IdentitySettings

MIGRATIONS = Path(__file__).parent / "migrations"


def build_app(settings: IdentitySettings) -> ServiceApp:
    database = Database(settings.database_url, pool_size=settings.db_pool_size)
    return ServiceApp(settings, database, registrars=[register], service_names=[SERVICE_NAME])
