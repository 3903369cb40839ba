"""The security trail's filters as the ASL types them (person, action, from/to days in Paris time), checked here so
a bad value is shown next to its field, and the trail's entries as the page and the export say them."""
from __future__ import annotations

import datetime as dt
import re
from collections.abc import Mapping
from dataclasses import dataclass
from zoneinfo import ZoneInfo

import grpc
from babel.dates import format_datetime as babel_format_datetime
from portal.identity.v1 import account_pb2 as identity_pb
from portal.identity.v1 import identity_service_pb2 as identity

from kit.client import failure_of
from kit.clock import from_timestamp
from kit.i18n import DEFAULT_TIMEZONE

from gateway.dependencies import Services
from gateway.i18n import translate
from gateway.pages.rendering import FormState, failure_form

PARIS = ZoneInfo(DEFAULT_TIMEZONE)
FIELDS = ("person", "action", "from", "to")
# Every action of the contract (AuditAction without its prefix), in the contract's order; each has a label
# `admin.trail.action.<NAME>` in both languages (tests/unit/gateway/test_trail.py checks that none is missing).
ACTIONS = tuple(name.removeprefix("AUDIT_ACTION_") for name in identity_pb.AuditAction.keys()
                if name != "AUDIT_ACTION_UNSPECIFIED")
_IDENTIFIER = re.compile(r"[Vv][0-9]{6}")
_DAY = re.compile(r"[0-9]{4}-[0-9]{2}-[0-9]{2}")
_WHEN = {"fr": "d MMM y HH:mm:ss", "en": "MMM d, y h:mm:ss a"}
MAX_PAGE_TOKEN = 500
MAX_PEOPLE_PAGES = 50  # 10,000 accounts named; beyond, the trail shows identifiers alone


@dataclass
class TrailQuery:
    """What the ASL asked for: the values as typed (kept in the form), their errors, and the request they make."""

    values: dict[str, str]
    form: FormState
    request: identity.ListAuditEventsRequest
    page_token: str = ""

    @property
    def valid(self) -> bool:
        return not self.form.summary


def action_label(lang: str, action: str) -> str:
    return translate(lang, f"admin.trail.action.{action}")


def action_options(lang: str) -> list[tuple[str, str]]:
    """The select's options: every action by its label in ``lang`` (in the order of the labels), after "all"."""
    labelled = sorted(((a, action_label(lang, a)) for a in ACTIONS), key=lambda pair: pair[1].casefold())
    return [("", translate(lang, "admin.trail.all_actions")), *labelled]


def _day(lang: str, form: FormState, name: str, text: str) -> dt.date | None:
    if not text:
        return None
    try:  # what a date input sends, and nothing else fromisoformat would take ("20260301", "2026-W10-1")
        day = dt.date.fromisoformat(text) if _DAY.fullmatch(text) else None
    except ValueError:
        day = None
    if day is None or not 2000 <= day.year <= 9998:
        form.add(lang, name, translate(lang, "admin.trail.error.date"))
        return None
    return day


def _midnight(day: dt.date) -> dt.datetime:
    """The start of ``day`` in Paris (midnight exists every day there: clocks change at 2 or 3 a.m.)."""
    return dt.datetime.combine(day, dt.time(), tzinfo=PARIS)


def parse(lang: str, params: Mapping[str, str], cofor_root: str) -> TrailQuery:
    """The filters of the query string. Days are whole days in Paris time, ``to`` included: the request's period
    is [from 00:00, the day after ``to`` 00:00), half-open as identity reads it."""
    values = {name: str(params.get(name, "")).strip()[:40] for name in FIELDS}
    form = FormState(values=values)
    request = identity.ListAuditEventsRequest()
    person = values["person"]
    if person and not _IDENTIFIER.fullmatch(person):
        form.add(lang, "person", translate(lang, "admin.trail.error.person"))
    elif person:
        request.identifier = values["person"] = person.upper()
    else:
        request.cofor_root = cofor_root  # the ASL's own company, never one typed
    if values["action"] in ACTIONS:
        request.actions.append(identity_pb.AuditAction.Value(f"AUDIT_ACTION_{values['action']}"))
    elif values["action"]:
        form.add(lang, "action", translate(lang, "admin.trail.error.action"))
    since, until = _day(lang, form, "from", values["from"]), _day(lang, form, "to", values["to"])
    if since and until and until < since:
        form.add(lang, "to", translate(lang, "admin.trail.error.period"))
    if since:
        request.since.FromDatetime(_midnight(since))
    if until:
        request.until.FromDatetime(_midnight(until + dt.timedelta(days=1)))
    token = str(params.get("page", ""))
    if len(token) > MAX_PAGE_TOKEN or not token.isascii():
        form.add(lang, "", translate(lang, "admin.trail.error.page"))
        token = ""
    return TrailQuery(values, form, request, token)


def refused(lang: str, query: TrailQuery, error: grpc.aio.AioRpcError) -> tuple[FormState, int]:
    """Identity's refusal of a query as the form shows it, and the page's status. A person of another company
    (or nobody's identifier) is refused exactly alike, next to the person field."""
    failure = failure_of(error)
    if failure.reason == "OTHER_COMPANY_ACCOUNT":
        form = FormState(values=query.values)
        form.add(lang, "person", translate(lang, "admin.trail.error.person_unknown"))
        return form, 403
    if any(path == "page_token" for path, _ in failure.field_violations):
        form = FormState(values=query.values)
        form.add(lang, "", translate(lang, "admin.trail.error.page"))
        return form, 400
    if failure.code != grpc.StatusCode.INVALID_ARGUMENT:
        raise error
    aliases = {"identifier": "person", "actions": "action", "since": "from", "until": "to"}
    return failure_form(lang, error, query.values, set(FIELDS), aliases), 400


async def people(svc: Services) -> dict[str, str]:
    """The company's accounts, identifier → display name (the trail keeps identifiers only)."""
    names: dict[str, str] = {}
    token = ""
    for _ in range(MAX_PEOPLE_PAGES):
        listed = await svc.identity.ListUsers(identity.ListUsersRequest(page_size=200, page_token=token),
                                              **svc.as_session())
        names.update((a.identifier, a.display_name) for a in listed.accounts)
        token = listed.next_page_token
        if not token:
            break
    return names


def who(lang: str, actor: str) -> str:
    """Who acted, when it is no person of the company: the portal itself, support staff, someone unknown."""
    if actor == "system":
        return translate(lang, "admin.trail.actor.system")
    if actor.startswith(("support:", "service:")):
        return translate(lang, "admin.trail.actor.support")
    return actor if actor else translate(lang, "admin.trail.actor.anonymous")


@dataclass(frozen=True)
class Entry:
    """One event of the trail, as the page and the export say it."""

    moment: dt.datetime  # in Paris
    when: str  # the moment as a reader of ``lang`` says it, to the second
    actor: str  # a V-identifier, or who acted (see ``who``)
    actor_name: str
    action: str
    action_label: str
    subject: str
    subject_name: str
    client_address: str
    detail: str  # identity's short English explanation


def entry(lang: str, event: identity_pb.AuditEvent, names: Mapping[str, str]) -> Entry:
    moment = (from_timestamp(event.occur_time) or dt.datetime.now(dt.UTC)).astimezone(PARIS)
    action = identity_pb.AuditAction.Name(event.action).removeprefix("AUDIT_ACTION_")
    return Entry(moment, babel_format_datetime(moment, _WHEN.get(lang, _WHEN["fr"]), tzinfo=PARIS, locale=lang),
                 who(lang, event.actor), names.get(event.actor, ""), action,
                 action_label(lang, action) if action in ACTIONS else action, event.subject_identifier,
                 names.get(event.subject_identifier, ""), event.client_address, event.detail)
