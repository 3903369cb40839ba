"""Response models for the OpenAPI document, read from the services' own messages.

Each API route answers a gRPC reply in proto3 JSON (``MessageToDict`` with the proto field names), so its
``response_model`` is that message as a Pydantic model: every field optional (proto3 JSON leaves defaults out),
enums as their names, 64-bit integers, bytes and well-known types as strings."""
from __future__ import annotations

from typing import Any, Literal

from google.protobuf.descriptor import FieldDescriptor
from google.protobuf.json_format import MessageToDict
from google.protobuf.message import Message
from pydantic import BaseModel, ConfigDict, Field, create_model

_SCALARS: dict[int, Any] = {
    FieldDescriptor.TYPE_BOOL: bool, FieldDescriptor.TYPE_STRING: str, FieldDescriptor.TYPE_BYTES: str,
    FieldDescriptor.TYPE_INT32: int, FieldDescriptor.TYPE_SINT32: int, FieldDescriptor.TYPE_SFIXED32: int,
    FieldDescriptor.TYPE_UINT32: int, FieldDescriptor.TYPE_FIXED32: int,
    FieldDescriptor.TYPE_INT64: str, FieldDescriptor.TYPE_SINT64: str, FieldDescriptor.TYPE_SFIXED64: str,
    FieldDescriptor.TYPE_UINT64: str, FieldDescriptor.TYPE_FIXED64: str,
    FieldDescriptor.TYPE_FLOAT: float, FieldDescriptor.TYPE_DOUBLE: float,
}
# Well-known types whose JSON form is a string (RFC 3339 time, "1.5s", "a,b.c").
_AS_STRING = {"google.protobuf.Timestamp", "google.protobuf.Duration", "google.protobuf.FieldMask"}
_MODELS: dict[str, type[BaseModel]] = {}
_NAMES: dict[str, str] = {}


class Reply(BaseModel):
    model_config = ConfigDict(populate_by_name=True, extra="forbid")


def _field_type(field: FieldDescriptor) -> Any:
    if field.message_type is not None and field.message_type.GetOptions().map_entry:
        value = field.message_type.fields_by_name["value"]
        return dict[str, _field_type(value)]  # type: ignore[misc]  # JSON object keys are strings
    if field.enum_type is not None:
        kind: Any = Literal[tuple(v.name for v in field.enum_type.values)]
    elif field.message_type is not None:
        kind = str if field.message_type.full_name in _AS_STRING else model_of(field.message_type)
    else:
        kind = _SCALARS[field.type]
    return list[kind] if field.is_repeated else kind


def _absent_by_default(schema: dict[str, Any]) -> None:
    schema.pop("default", None)  # an absent field is left out, never sent as null


def _absent_time(schema: dict[str, Any]) -> None:
    _absent_by_default(schema)
    schema["format"] = "date-time"


def _is_time(field: FieldDescriptor) -> bool:
    return field.message_type is not None and field.message_type.full_name == "google.protobuf.Timestamp"


def _model_name(descriptor: Any) -> str:
    name: str = descriptor.name
    if _NAMES.setdefault(name, descriptor.full_name) != descriptor.full_name:  # same name in another package
        name = descriptor.full_name.replace(".", "_")
    return name


def model_of(descriptor: Any) -> type[BaseModel]:  # a Descriptor (upb's or the pure-Python one)
    """The Pydantic model of a message's proto3 JSON (one per message, built once)."""
    if descriptor.full_name not in _MODELS:
        fields: dict[str, Any] = {
            f"f_{field.name}": (_field_type(field), Field(default=None, alias=field.name,
                                                          json_schema_extra=_absent_time if _is_time(field)
                                                          else _absent_by_default))
            for field in descriptor.fields}
        _MODELS[descriptor.full_name] = create_model(
            _model_name(descriptor), __base__=Reply, __doc__=f"`{descriptor.full_name}` in proto3 JSON.", **fields)
    return _MODELS[descriptor.full_name]


def reply(message: type[Message], without: str = "") -> type[BaseModel]:
    """The model of ``message``; ``without`` a field the gateway keeps out of the body (e.g. a session token)."""
    if not without:
        return model_of(message.DESCRIPTOR)
    name = message.DESCRIPTOR.name.replace("Response", "Reply")
    if name not in _MODELS:
        base = model_of(message.DESCRIPTOR)
        fields = {k: (f.annotation, f) for k, f in base.model_fields.items() if f.alias != without}
        _MODELS[name] = create_model(name, __base__=Reply, __doc__=f"{base.__doc__} Without `{without}`.",
                                     **fields)  # type: ignore[call-overload]
    return _MODELS[name]


def as_json(message: Message) -> dict[str, Any]:
    return MessageToDict(message, preserving_proto_field_name=True)


def wrapped(key: str, message: type[Message]) -> type[BaseModel]:
    """A reply that carries one message under ``key`` (``{"presentation": {...}}``)."""
    name = f"{message.DESCRIPTOR.name}Reply"
    if name not in _MODELS:
        _MODELS[name] = create_model(name, __base__=Reply, **{key: (reply(message), ...)})  # type: ignore[call-overload]
    return _MODELS[name]


class Empty(Reply):
    """An empty object."""


class CsrfToken(Reply):
    csrf_token: str
