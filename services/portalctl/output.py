"""What portalctl prints: for people, aligned tables with headers (lists) and key/value blocks (one thing), enum
values as words (``ACCOUNT_STATE_ACTIVE`` → ``active``), times in the reader's time zone; with ``--json``, the
protobuf messages themselves (json_format: proto field names, enum names in full, empty scalars and lists included),
stable for scripts. Every command prints through here."""
from __future__ import annotations

import json
import re
from collections.abc import Callable, Iterable, Sequence
from datetime import UTC
from typing import Any, TypeVar

import click
from google.protobuf.descriptor import FieldDescriptor
from google.protobuf.json_format import MessageToDict
from google.protobuf.message import Message
from google.protobuf.timestamp_pb2 import Timestamp

T = TypeVar("T")
TIMESTAMP: str = Timestamp.DESCRIPTOR.full_name
LABELS = {"duns": "D-U-N-S", "email": "e-mail", "jwks_json": "JWKS"}  # where the field name reads badly


def json_mode() -> bool:
    """--json given (on the command or before it: ``portalctl --json ...``)."""
    context = click.get_current_context(silent=True)
    return bool(context and context.meta.get("portalctl.json"))


def as_json(value: Message | Sequence[Message] | Any) -> Any:
    """A message (or a list of them) as plain JSON values, the way ``--json`` prints it."""
    if isinstance(value, Message):
        return MessageToDict(value, preserving_proto_field_name=True, always_print_fields_with_no_presence=True)
    if isinstance(value, list | tuple):
        return [as_json(item) for item in value]
    return value


def print_json(value: Message | Sequence[Message] | Any) -> None:
    click.echo(json.dumps(as_json(value), indent=2, ensure_ascii=False))


def words(enum: Any, number: int) -> str:
    """An enum value as people say it: its name without the enum's prefix, lower case (``in progress``); ``-`` for
    the unset value. ``enum`` is an EnumDescriptor (Any: the stubs type descriptors as a union with upb's)."""
    value = enum.values_by_number.get(number)
    if value is None:
        return str(number)
    prefix = re.sub(r"(?<!^)(?=[A-Z])", "_", enum.name).upper() + "_"
    name = value.name.removeprefix(prefix)
    return "-" if name == "UNSPECIFIED" else name.lower().replace("_", " ")


def enum_words(message: Message, field: str) -> str:
    """The value of an enum field of ``message`` in words (see ``words``)."""
    descriptor = message.DESCRIPTOR.fields_by_name[field]
    value = getattr(message, field)
    if descriptor.is_repeated:
        return ", ".join(words(descriptor.enum_type, v) for v in value) or "-"
    return words(descriptor.enum_type, value)


def when(timestamp: Timestamp, seconds: bool = False) -> str:
    """A time in the reader's local time zone (TZ), with the zone: ``2026-05-04 14:30 CEST``; ``-`` when unset."""
    if not timestamp.seconds and not timestamp.nanos:
        return "-"
    local = timestamp.ToDatetime(tzinfo=UTC).astimezone()
    return local.strftime("%Y-%m-%d %H:%M:%S %Z" if seconds else "%Y-%m-%d %H:%M %Z")


def label(field: str) -> str:
    return LABELS.get(field, field.replace("_", " "))


def _scalar(field: Any, value: Any) -> str:
    if field.type == FieldDescriptor.TYPE_ENUM:
        return words(field.enum_type, value)
    if field.type == FieldDescriptor.TYPE_BOOL:
        return "yes" if value else "no"
    if field.type == FieldDescriptor.TYPE_BYTES:
        return f"{len(value)} bytes"
    if field.type == FieldDescriptor.TYPE_MESSAGE:  # a Timestamp: the only message shown on one line
        return when(value)
    return str(value) if value != "" else "-"


def _one_line(field: Any) -> bool:
    """A field shown on one line: a scalar, an enum or a time."""
    return bool(field.type != FieldDescriptor.TYPE_MESSAGE or field.message_type.full_name == TIMESTAMP)


def _rows(message: Message, depth: int) -> list[tuple[int, str, str | None]]:
    """(depth, label, value) for each field, in declaration order; a nested message's fields one level deeper."""
    rows: list[tuple[int, str, str | None]] = []
    for field in message.DESCRIPTOR.fields:
        value = getattr(message, field.name)
        if field.is_repeated and _one_line(field):
            rows.append((depth, label(field.name), ", ".join(_scalar(field, v) for v in value) or "-"))
        elif field.is_repeated:
            rows.append((depth, label(field.name), None if value else "-"))
            for number, item in enumerate(value, 1):
                rows.append((depth + 1, f"#{number}", None))
                rows.extend(_rows(item, depth + 2))
        elif _one_line(field):
            rows.append((depth, label(field.name), _scalar(field, value)))
        elif message.HasField(field.name):
            rows.append((depth, label(field.name), None))
            rows.extend(_rows(value, depth + 1))
        else:
            rows.append((depth, label(field.name), "-"))
    return rows


def block_text(message: Message) -> str:
    """Every field of a message, one per line, values aligned; nested messages indented under their field."""
    rows = _rows(message, 0)
    column = max((2 * depth + len(name) for depth, name, value in rows if value is not None), default=0) + 2
    lines = []
    for depth, name, value in rows:
        head = "  " * depth + name
        if value is None:
            lines.append(head)
            continue
        first, *more = value.splitlines() or [""]
        lines.append(f"{head:<{column}}{first}")
        lines.extend(" " * column + line for line in more)
    return "\n".join(lines)


def table_text(headers: Sequence[str], rows: Iterable[Sequence[str]]) -> str:
    """Columns aligned under upper-case headers, two spaces apart; a cell is kept on one line."""
    cells = [[re.sub(r"\s*[\r\n\t\v\f]\s*", " ", str(cell)).strip() or "-" for cell in row] for row in rows]
    widths = [max([len(h)] + [len(row[i]) for row in cells]) for i, h in enumerate(headers)]
    lines = [[h.upper() for h in headers]] + cells
    return "\n".join("  ".join(cell.ljust(w) for cell, w in zip(line, widths)).rstrip() for line in lines)


def table(items: Sequence[T], columns: Sequence[tuple[str, Callable[[T], str]]], machine: Any = None) -> None:
    """A list: a table, one row per item and one column per (header, cell of an item); with --json the items (or
    ``machine``, when the rows are not the messages themselves) as JSON."""
    if json_mode():
        print_json(items if machine is None else machine)
        return
    click.echo(table_text([h for h, _ in columns], [[cell(item) for _, cell in columns] for item in items]))


def show(message: Message) -> None:
    """One thing: the message as JSON with --json, else its key/value block."""
    if json_mode():
        print_json(message)
    else:
        click.echo(block_text(message))


def done(message: Message, line: str) -> None:
    """A change that succeeded: the message it answered as JSON with --json, else one line saying what happened."""
    if json_mode():
        print_json(message)
    else:
        click.echo(line)
