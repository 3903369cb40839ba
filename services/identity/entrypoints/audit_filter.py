"""The filters of ListAuditEvents, from the wire to the read model's terms: which actions, which period."""
from __future__ import annotations

import datetime as dt

from google.protobuf.timestamp_pb2 import Timestamp
from portal.identity.v1 import account_pb2 as pb
from portal.identity.v1 import identity_service_pb2 as api

from kit.errors import Violations

from identity.views import TrailFilter

_PREFIX = "AUDIT_ACTION_"


def _moment(request: api.ListAuditEventsRequest, name: str, v: Violations) -> dt.datetime | None:
    if not request.HasField(name):  # type: ignore[arg-type]  # "since" / "until"
        return None
    stamp: Timestamp = getattr(request, name)
    try:
        return stamp.ToDatetime(tzinfo=dt.UTC)
    except (ValueError, OverflowError):  # seconds past year 9999, nanos out of range
        v.add(name, "is not a valid timestamp")
        return None


def trail_filter(request: api.ListAuditEventsRequest) -> TrailFilter:
    """The request's filters, each refused one a field violation (all of them at once). proto3 enums are open: a
    number the contract does not define, or AUDIT_ACTION_UNSPECIFIED, is bad input, never "every action"."""
    v = Violations()
    actions: set[str] = set()
    for i, value in enumerate(request.actions):
        try:
            name = pb.AuditAction.Name(value) if value else ""
        except ValueError:
            name = ""
        if not name:
            v.add(f"actions[{i}]", "unknown value")
            continue
        actions.add(name.removeprefix(_PREFIX))
    since, until = _moment(request, "since", v), _moment(request, "until", v)
    if since is not None and until is not None and until <= since:
        v.add("until", "must be after since")
    v.raise_if_any()
    return TrailFilter(tuple(sorted(actions)), since, until)

