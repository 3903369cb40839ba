"""Composition root of the identity service: each use case is given the few collaborators it needs."""
from __future__ import annotations

import asyncio
import datetime as dt
import functools
from collections.abc import Callable
from pathlib import Path

from kit.app import ServiceApp
from kit.auth import ServiceCredentials
from kit.clock import utcnow
from kit.db import Database

from identity.adapters.backchannel import BackchannelLogouts
from identity.adapters.factor_box import FactorBox
from identity.adapters.hasher import Hasher
from identity.adapters.session_cache import SessionCache
from identity.adapters.signing_keys import SigningKeys
from identity.entrypoints.consumers import cofor_consumer
from identity.entrypoints.grpc_servicer import SERVICE_NAME, IdentityServicer, UseCases, registrar
from identity.entrypoints.oidc_rpcs import SERVICE_NAME as OIDC_SERVICE_NAME
from identity.entrypoints.oidc_rpcs import OidcProviderServicer, oidc_registrar
from identity.service_layer.account_request import AccountRequests
from identity.service_layer.activation import Activation
from identity.service_layer.common import Tools
from identity.service_layer.company_events import CompanyEvents
from identity.service_layer.console import Console
from identity.service_layer.factor_admin import FactorAdministration
from identity.service_layer.login import Login
from identity.service_layer.oidc_clients import OidcClients
from identity.service_layer.oidc_provider import OidcProvider
from identity.service_layer.oidc_resources import OidcResources
from identity.service_layer.passkeys import Passkeys
from identity.service_layer.password_change import PasswordChange
from identity.service_layer.recovery import Recovery
from identity.service_layer.second_factor import SecondFactors
from identity.service_layer.sessions import Sessions
from identity.service_layer.unit_of_work import IdentityUnitOfWork
from identity.settings import IdentitySettings
from identity.views import Views

MIGRATIONS = Path(__file__).parent / "migrations"


def build_app(settings: IdentitySettings, clock: Callable[[], dt.datetime] = utcnow) -> ServiceApp:
    database = Database(settings.database_url, pool_size=settings.db_pool_size)
    hasher = Hasher(memory_kib=settings.argon2_memory_kib, time_cost=settings.argon2_time_cost,
                    parallelism=settings.argon2_parallelism, workers=settings.hash_workers or None)
    sessions = SessionCache(settings.session_cache_seconds)  # one cache, shared by every use case
    logouts_owed = asyncio.Event()  # set by a commit that ends sessions applications signed in with
    uow = functools.partial(IdentityUnitOfWork, database, session_cache=sessions,
                            seal_key=settings.mail_seal_public_key, logouts_owed=logouts_owed.set)
    tools = Tools(uow, hasher, settings, clock, FactorBox(settings.factor_secret_key.get_secret_value()))
    cases = UseCases(login=Login(tools), sessions=Sessions(tools, sessions), password_change=PasswordChange(tools),
                     recovery=Recovery(tools), console=Console(tools), views=Views(uow),
                     second_factors=SecondFactors(tools), factor_administration=FactorAdministration(tools),
                     passkeys=Passkeys(tools), activation=Activation(tools),
                     account_requests=AccountRequests(tools))
    credentials = ServiceCredentials(settings.service_credentials.get_secret_value())
    servicer = IdentityServicer(cases, credentials)
    keys = SigningKeys(uow, tools.factor_box, clock, settings.oidc_signing_alg)
    backchannel = BackchannelLogouts(uow, keys, settings.oidc_issuer, clock, logouts_owed)
    provider = OidcProvider(tools, cases.sessions, OidcClients(tools), keys)
    oidc = OidcProviderServicer(provider, OidcResources(provider), provider.clients, cases.sessions, credentials)
    return ServiceApp(settings, database, registrars=[registrar(servicer), oidc_registrar(oidc)],
                      service_names=[SERVICE_NAME, OIDC_SERVICE_NAME],
                      consumers=[cofor_consumer(CompanyEvents(tools), **settings.consumer_options)],
                      background=[backchannel.run],
                      listeners=[sessions.listen])
