"""The mailer's consumer: every service's EmailRequested events, from the NOTIFICATION stream."""
from __future__ import annotations

from typing import Any

from portal.support.v1 import events_pb2 as ev

from kit.db import Database
from kit.messaging.consumer import EventConsumer, Subscription

from support.service_layer.mailer import Mailer
from support.service_layer.unit_of_work import SupportUnitOfWork


def mail_consumer(mailer: Mailer, database: Database, **options: Any) -> EventConsumer:
    return EventConsumer(durable="support-mailer", stream="NOTIFICATION", **options,
                         unit_of_work=lambda: SupportUnitOfWork(database),
                         subscriptions=[Subscription("notification.email.requested", ev.EmailRequested,
                                                     mailer.spool)])
