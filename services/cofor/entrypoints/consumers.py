"""cofor's reactions to identity's events: the ASL exists → access OPEN; no active ASL left → SUSPENDED."""
from __future__ import annotations

from typing import Any

from portal.identity.v1 import events_pb2 as identity_events

from kit.messaging.consumer import EventConsumer, Subscription
from kit.messaging.envelope import EventContext

from cofor.service_layer.registry import Registry
from cofor.service_layer.unit_of_work import CoforUnitOfWork


def identity_consumer(registry: Registry, **options: Any) -> EventConsumer:
    async def administrator_created(event: identity_events.AdministratorCreated, ctx: EventContext,
                                    uow: CoforUnitOfWork) -> None:
        await registry.on_administrator_created(uow, event.cofor_root, event.identifier, event.display_name)

    async def administrators_changed(event: identity_events.ActiveAdministratorsChanged, ctx: EventContext,
                                     uow: CoforUnitOfWork) -> None:
        snapshot = [{"identifier": a.identifier, "display_name": a.display_name} for a in event.administrators]
        await registry.on_administrators_changed(uow, event.cofor_root, snapshot, event.revision)

    return EventConsumer(
        durable="cofor-identity-events", stream="IDENTITY", unit_of_work=registry.uow, **options,
        subscriptions=[
            Subscription("identity.administrator.created", identity_events.AdministratorCreated,
                         administrator_created),
            Subscription("identity.company.administrators_changed", identity_events.ActiveAdministratorsChanged,
                         administrators_changed),
        ])
