"""Composition root of the identity service."""
from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from pathlib import Path

from kit.app import ServiceApp
from kit.auth import ServiceCredentials
from kit.db import Database

from identity.adapters.hasher import Hasher
from identity.adapters.session_cache import SessionCache
from identity.entrypoints.consumers import cofor_consumer
from identity.entrypoints.grpc_servicer import SERVICE_NAME, IdentityServicer, registrar
from identity.service_layer.administration import Administration
from identity.service_layer.authentication import Authentication
from identity.service_layer.base import utcnow
from identity.service_layer.company_events import CompanyEvents
from identity.service_layer.recovery import Recovery
from identity.settings import IdentitySettings

MIGRATIONS = Path(__file__).parent / "migrations"


def build_app(settings: IdentitySettings, clock: Callable[[], dt.datetime] = utcnow) -> ServiceApp:
    database = Database(settings.database_url, pool_size=settings.db_pool_size)
    hasher = Hasher(memory_kib=settings.argon2_memory_kib, time_cost=settings.argon2_time_cost,
                    parallelism=settings.argon2_parallelism, workers=settings.hash_workers or None)
    sessions = SessionCache(settings.session_cache_seconds)  # one cache, shared by every use case
    parts = (database, hasher, settings, clock, sessions)
    servicer = IdentityServicer(Authentication(*parts), Recovery(*parts), Administration(*parts),
                                ServiceCredentials(settings.service_credentials.get_secret_value()))
    return ServiceApp(settings, database, registrars=[registrar(servicer)], service_names=[SERVICE_NAME],
                      consumers=[cofor_consumer(CompanyEvents(*parts), **settings.consumer_options)],
                      listeners=[sessions.listen])
