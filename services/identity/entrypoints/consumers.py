"""identity's consumer of cofor's events."""
from __future__ import annotations

from typing import Any

from portal.cofor.v1 import events_pb2 as cofor_events

from kit.messaging.consumer import EventConsumer, Subscription

from identity.service_layer.company_events import CompanyEvents


def cofor_consumer(reactions: CompanyEvents, **options: Any) -> EventConsumer:
    return EventConsumer(
        durable="identity-cofor-events", stream="COFOR", unit_of_work=reactions.uow, **options,
        subscriptions=[
            Subscription("cofor.supplier.referenced", cofor_events.SupplierReferenced, reactions.supplier_referenced),
            Subscription("cofor.access.terms_accepted", cofor_events.TermsAccepted, reactions.terms_accepted),
            Subscription("cofor.access.opened", cofor_events.AccessOpened, reactions.access_opened),
            Subscription("cofor.access.suspended", cofor_events.AccessSuspended, reactions.access_suspended),
            Subscription("cofor.access.reset", cofor_events.AccessReset, reactions.access_reset),
            Subscription("cofor.supplier.deactivated", cofor_events.SupplierDeactivated,
                         reactions.supplier_deactivated),
            Subscription("cofor.supplier.reactivated", cofor_events.SupplierReactivated,
                         reactions.supplier_reactivated),
        ])
