"""What a mail's template reads as ``params``, from an EmailRequested: the one place where typed values
(email_values.proto) become template values. Requests without them (older producers) keep their ``params``.

The typed values give exactly the strings the ``params`` contract documents (EmailTemplate), so a mail renders the
same whichever way it was asked for, and the templates, the spool and mails spooled before the typed values need
nothing new: strings stay strings, Timestamps become ISO 8601 UTC, enums the words below, repeated fields JSON
arrays, a bool ``true``/``false``, the ticket's contact ``contact_<field>``. An unset Timestamp is left out (a
template that needs it fails, the mail is given up); an unset or unknown enum value gives up the mail at once."""
from __future__ import annotations

import datetime as dt
import json
from typing import Any

from google.protobuf.descriptor import EnumDescriptor, FieldDescriptor
from google.protobuf.message import Message
from google.protobuf.timestamp_pb2 import Timestamp
from portal.support.v1 import email_values_pb2 as v
from portal.support.v1 import events_pb2 as ev
from portal.support.v1 import ticket_pb2


class MailValuesError(Exception):
    """The typed values cannot be a mail: they do not match the template, or hold an unset or unknown choice."""


def _words(enum: EnumDescriptor, words: dict[str, str]) -> tuple[str, dict[int, str]]:
    return enum.full_name, {enum.values_by_name[name].number: word for name, word in words.items()}


_CATEGORY = ticket_pb2.TicketCategory.DESCRIPTOR
# Every choice a values message can hold → the word its template compares with (tests check none is missing).
CHOICES: dict[str, dict[int, str]] = dict([
    _words(v.AccountLockedNoticeMail.Cause.DESCRIPTOR, {"CAUSE_FAILED_ATTEMPTS": "failed_attempts",
                                                        "CAUSE_PREVIOUS_PASSWORD": "previous_password"}),
    _words(v.TemporaryPasswordMail.Context.DESCRIPTOR, {"CONTEXT_NEW_ACCOUNT": "new_account",
                                                        "CONTEXT_RESET": "reset"}),
    _words(_CATEGORY, {n.name: n.name.removeprefix("TICKET_CATEGORY_") for n in _CATEGORY.values if n.number}),
    _words(v.SecondFactorNoticeMail.Change.DESCRIPTOR, {
        "CHANGE_ENROLLED": "enrolled", "CHANGE_REMOVED": "removed", "CHANGE_RECOVERY_CODE_USED": "recovery_code_used",
        "CHANGE_RESET": "reset", "CHANGE_RECOVERY_CODES_REGENERATED": "recovery_codes_regenerated",
        "CHANGE_LOCKED": "locked", "CHANGE_COPY_SUSPECTED": "copy_suspected"}),
    _words(v.SecondFactorNoticeMail.Factor.DESCRIPTOR, {
        "FACTOR_TOTP": "totp", "FACTOR_RECOVERY_CODES": "recovery_codes", "FACTOR_PASSKEY": "passkey",
        "FACTOR_ALL": "all"}),
])


def template_values(event: ev.EmailRequested) -> dict[str, str]:
    """The values ``event``'s template renders with: its typed ``values`` when set, else its ``params`` (kept for
    requests queued before every sender used typed values: notify no longer sets ``params``)."""
    kind = event.WhichOneof("values")
    if kind is None:
        return dict(event.params)
    template = ev.EmailTemplate.Name(event.template) if event.template in ev.EmailTemplate.values() \
        else str(event.template)
    if template != f"EMAIL_TEMPLATE_{kind.upper()}":
        raise MailValuesError(f"values of {kind} for the template {template}")
    return _flat(getattr(event, kind))


def _flat(message: Message, prefix: str = "") -> dict[str, str]:
    values: dict[str, str] = {}
    for field in message.DESCRIPTOR.fields:
        value = getattr(message, field.name)
        key = prefix + field.name
        if field.is_repeated:
            values[key] = json.dumps([_item(item) for item in value], ensure_ascii=False)
        elif field.message_type is Timestamp.DESCRIPTOR:
            if message.HasField(field.name):
                values[key] = value.ToDatetime(tzinfo=dt.UTC).isoformat()
        elif field.message_type is not None:
            values.update(_flat(value, prefix=f"{field.name}_"))
        elif field.enum_type is not None:
            values[key] = _word(field.enum_type.full_name, value)
        elif field.type == FieldDescriptor.TYPE_BOOL:
            values[key] = "true" if value else "false"
        else:
            values[key] = str(value)
    return values


def _item(item: Any) -> Any:
    if isinstance(item, Message):
        return {field.name: getattr(item, field.name) for field in item.DESCRIPTOR.fields}
    return item


def _word(enum_name: str, value: int) -> str:
    word = CHOICES.get(enum_name, {}).get(value)
    if word is None:
        raise MailValuesError(f"{enum_name}: {value} is not a choice")
    return word
