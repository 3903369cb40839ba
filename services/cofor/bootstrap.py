"""Composition root: the only place that wires cofor's concrete parts together."""
from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from pathlib import Path

from kit.app import ServiceApp
from kit.auth import ServiceCredentials
from kit.clock import utcnow
from kit.db import Database

from cofor.entrypoints.consumers import identity_consumer
from cofor.entrypoints.grpc_servicer import SERVICE_NAME, CoforServicer, registrar
from cofor.service_layer.registry import Registry
from cofor.settings import CoforSettings
from cofor.views import Views

MIGRATIONS = Path(__file__).parent / "migrations"


def build_app(settings: CoforSettings, clock: Callable[[], dt.datetime] = utcnow) -> ServiceApp:
    database = Database(settings.database_url, pool_size=settings.db_pool_size)
    registry = Registry(database, seal_key=settings.mail_seal_public_key, terms_version=settings.terms_version,
                        clock=clock)
    credentials = ServiceCredentials(settings.service_credentials.get_secret_value())
    servicer = CoforServicer(registry, Views(registry.uow), credentials)
    return ServiceApp(settings, database, registrars=[registrar(servicer)], service_names=[SERVICE_NAME],
                      consumers=[identity_consumer(registry, **settings.consumer_options)],
                      background=[registry.directory.run, registry.housekeeping])
