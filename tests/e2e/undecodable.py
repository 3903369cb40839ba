"""Requests that do not even decode: invalid UTF-8 in each string field of each RPC of the three services (top-level
and one level down), sent as raw bytes; what each service answers. Shared by the test and the abuse suite."""
from __future__ import annotations

from collections.abc import Iterator

import grpc
from google.protobuf.descriptor import Descriptor, FieldDescriptor
from portal.cofor.v1 import cofor_service_pb2
from portal.identity.v1 import identity_service_pb2
from portal.support.v1 import support_service_pb2

from kit.client import failure_of

from .stack import Stack

SERVICES = ((cofor_service_pb2, "CoforService", 0), (identity_service_pb2, "IdentityService", 1),
            (support_service_pb2, "SupportService", 2))
BAD_UTF8 = b"\xff\xfe\xc3("


def _varint(n: int) -> bytes:
    out = bytearray()
    while True:
        byte, n = n & 0x7F, n >> 7
        out.append(byte | (0x80 if n else 0))
        if not n:
            return bytes(out)


def _length_delimited(number: int, payload: bytes) -> bytes:
    return _varint(number << 3 | 2) + _varint(len(payload)) + payload


def string_fields(message: Descriptor, depth: int = 1) -> Iterator[tuple[str, bytes]]:
    """(field path, the encoded request whose only content is that field holding invalid UTF-8)."""
    for field in message.fields:
        if field.type == FieldDescriptor.TYPE_STRING:
            yield field.name, _length_delimited(field.number, BAD_UTF8)
        elif (field.type == FieldDescriptor.TYPE_MESSAGE and depth > 0 and field.message_type is not None
              and field.message_type.full_name.startswith("portal.")):
            for path, inner in string_fields(field.message_type, depth - 1):
                yield f"{field.name}.{path}", _length_delimited(field.number, inner)


async def undecodable_answers(stack: Stack) -> tuple[int, list[str]]:
    """(string fields tried, those answered anything but INVALID_ARGUMENT INVALID_REQUEST)."""
    checked, wrong = 0, []
    for module, service, app in SERVICES:
        descriptor = module.DESCRIPTOR.services_by_name[service]
        async with grpc.aio.insecure_channel(stack.apps[app].target) as channel:
            for method in descriptor.methods:
                call = channel.unary_unary(f"/{descriptor.full_name}/{method.name}",
                                           request_serializer=lambda b: b, response_deserializer=lambda b: b)
                for path, payload in string_fields(method.input_type):
                    checked += 1
                    try:
                        await call(payload, metadata=[("x-portal-service-token", "ops-token")], timeout=10)
                        wrong.append(f"{method.full_name} {path}: OK")
                    except grpc.aio.AioRpcError as error:
                        failure = failure_of(error)
                        if failure.code != grpc.StatusCode.INVALID_ARGUMENT or failure.reason != "INVALID_REQUEST":
                            wrong.append(f"{method.full_name} {path}: {failure.code.name} {failure.reason}")
    return checked, wrong
