"""Composition root of the support service: tickets, help catalogue, and the mailer."""
from __future__ import annotations

import datetime as dt
import functools
from collections.abc import Callable
from pathlib import Path

from kit.app import ServiceApp
from kit.auth import ServiceCredentials
from kit.clock import utcnow
from kit.db import Database

from support.adapters.mail_renderer import MailRenderer
from support.adapters.smtp import SmtpConfig, SmtpPool
from support.entrypoints.consumers import mail_consumer
from support.entrypoints.grpc_servicer import SERVICE_NAME, SupportServicer, registrar
from support.service_layer.help_catalogue import HelpCatalogue
from support.service_layer.intake import TicketIntake
from support.service_layer.mailer import Mailer
from support.service_layer.screenshots import ScreenshotDecoder
from support.service_layer.tickets import Tickets
from support.service_layer.unit_of_work import SupportUnitOfWork
from support.settings import SupportSettings

MIGRATIONS = Path(__file__).parent / "migrations"


def build_app(settings: SupportSettings, clock: Callable[[], dt.datetime] = utcnow) -> ServiceApp:
    database = Database(settings.database_url, pool_size=settings.db_pool_size)
    smtp = SmtpPool(SmtpConfig(settings.smtp_host, settings.smtp_port, settings.smtp_username,
                               settings.smtp_password.get_secret_value(), settings.smtp_tls, settings.smtp_starttls),
                    size=settings.smtp_connections)
    mailer = Mailer(database, MailRenderer(settings.portal_public_url), smtp,
                    seal_private_key=settings.mail_seal_private_key.get_secret_value(), mail_from=settings.mail_from,
                    concurrency=settings.smtp_connections, poll_seconds=settings.mail_poll_seconds,
                    max_backoff=settings.mail_max_backoff_seconds, clock=clock)
    tickets = Tickets(functools.partial(SupportUnitOfWork, database), support_mailbox=settings.support_mailbox,
                      clock=clock)
    intake = TicketIntake(tickets, ScreenshotDecoder(settings.screenshot_decoders, settings.screenshot_queue),
                          max_open_per_email=settings.max_open_tickets_per_email,
                          max_open_per_identifier=settings.max_open_tickets_per_identifier)
    servicer = SupportServicer(tickets, intake, HelpCatalogue(),
                               ServiceCredentials(settings.service_credentials.get_secret_value()))
    return ServiceApp(settings, database, registrars=[registrar(servicer)], service_names=[SERVICE_NAME],
                      consumers=[mail_consumer(mailer, database, **settings.consumer_options)],
                      background=[mailer.run])
