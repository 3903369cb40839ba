"""The kit's gRPC bootstrap on a real grpc.aio server: health, reflection, AIP-193 errors, graceful stop."""
from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from typing import cast

import grpc
import pytest
from google.protobuf.wrappers_pb2 import StringValue
from google.rpc import error_details_pb2
from grpc_health.v1 import health_pb2, health_pb2_grpc
from grpc_reflection.v1alpha import reflection_pb2, reflection_pb2_grpc
from grpc_status import rpc_status

from kit.auth import Ctx
from kit.errors import FailedPrecondition, FieldViolation, InvalidArgument, NotFound, PreconditionViolation
from kit.grpc_server import GrpcServer

SERVICE = "test.v1.EchoService"


async def echo(request: StringValue, context: Ctx) -> StringValue:
    match request.value:
        case "invalid":
            raise InvalidArgument([FieldViolation("cofor", "must be 6 characters"),
                                   FieldViolation("email", "is not an e-mail address")])
        case "missing":
            raise NotFound("SUPPLIER_NOT_FOUND", "no supplier with COFOR 12345A", metadata={"cofor": "12345A"})
        case "incomplete":
            raise FailedPrecondition("PRESENTATION_INCOMPLETE", "the file is incomplete", violations=[
                PreconditionViolation("MISSING_FIELD", "tax_number", "tax number is required")])
        case "crash":
            raise KeyError("secret internals")
        case "slow":
            await asyncio.sleep(0.5)
    return StringValue(value=request.value)


def register(server: grpc.aio.Server) -> None:
    handler = grpc.unary_unary_rpc_method_handler(echo, request_deserializer=StringValue.FromString,
                                                  response_serializer=StringValue.SerializeToString)
    server.add_generic_rpc_handlers([grpc.method_handlers_generic_handler(SERVICE, {"Echo": handler})])


@pytest.fixture
async def server() -> AsyncIterator[GrpcServer]:
    s = GrpcServer(host="127.0.0.1", port=0, error_domain="test.portal", registrars=[register],
                   service_names=[SERVICE])
    await s.start()
    yield s
    await s.stop(0.1)


async def call(server: GrpcServer, value: str) -> StringValue:
    async with grpc.aio.insecure_channel(f"127.0.0.1:{server.port}") as channel:
        method = channel.unary_unary(f"/{SERVICE}/Echo", request_serializer=StringValue.SerializeToString,
                                     response_deserializer=StringValue.FromString)
        return await method(StringValue(value=value))


async def error_of(server: GrpcServer, value: str) -> tuple[grpc.StatusCode, list[object]]:
    with pytest.raises(grpc.aio.AioRpcError) as info:
        await call(server, value)
    status = rpc_status.from_call(cast(grpc.Call, info.value))  # an AioRpcError offers the grpc.Call surface it reads
    assert status is not None, "details must travel in grpc-status-details-bin"
    details: list[object] = []
    for any_detail in status.details:
        for kind in (error_details_pb2.ErrorInfo, error_details_pb2.BadRequest,
                     error_details_pb2.PreconditionFailure):
            if any_detail.Is(kind.DESCRIPTOR):
                detail = kind()
                any_detail.Unpack(detail)
                details.append(detail)
    return info.value.code(), details


async def test_health_reports_serving_for_the_server_and_each_service(server: GrpcServer) -> None:
    async with grpc.aio.insecure_channel(f"127.0.0.1:{server.port}") as channel:
        stub = health_pb2_grpc.HealthStub(channel)
        for name in ("", SERVICE):
            reply = await stub.Check(health_pb2.HealthCheckRequest(service=name))
            assert reply.status == health_pb2.HealthCheckResponse.SERVING


async def test_reflection_lists_the_services(server: GrpcServer) -> None:
    async with grpc.aio.insecure_channel(f"127.0.0.1:{server.port}") as channel:
        stub = reflection_pb2_grpc.ServerReflectionStub(channel)
        call_ = stub.ServerReflectionInfo(iter([reflection_pb2.ServerReflectionRequest(list_services="")]))
        async for reply in call_:
            names = {s.name for s in reply.list_services_response.service}
            break
    assert {SERVICE, "grpc.health.v1.Health"} <= names


async def test_invalid_argument_carries_error_info_and_every_field_violation(server: GrpcServer) -> None:
    code, details = await error_of(server, "invalid")
    assert code == grpc.StatusCode.INVALID_ARGUMENT
    info, bad = details
    assert isinstance(info, error_details_pb2.ErrorInfo) and info.domain == "test.portal"
    assert isinstance(bad, error_details_pb2.BadRequest)
    assert [(v.field, v.description) for v in bad.field_violations] == [
        ("cofor", "must be 6 characters"), ("email", "is not an e-mail address")]


async def test_domain_errors_map_to_their_codes_with_exactly_one_error_info(server: GrpcServer) -> None:
    code, details = await error_of(server, "missing")
    assert code == grpc.StatusCode.NOT_FOUND
    [info] = details
    assert isinstance(info, error_details_pb2.ErrorInfo)
    assert info.reason == "SUPPLIER_NOT_FOUND" and dict(info.metadata) == {"cofor": "12345A"}

    code, details = await error_of(server, "incomplete")
    assert code == grpc.StatusCode.FAILED_PRECONDITION
    info, failure = details
    assert isinstance(info, error_details_pb2.ErrorInfo) and info.reason == "PRESENTATION_INCOMPLETE"
    assert isinstance(failure, error_details_pb2.PreconditionFailure)
    assert failure.violations[0].subject == "tax_number"


async def test_an_unexpected_error_is_internal_and_leaks_nothing(server: GrpcServer) -> None:
    with pytest.raises(grpc.aio.AioRpcError) as info:
        await call(server, "crash")
    assert info.value.code() == grpc.StatusCode.INTERNAL
    assert "secret" not in (info.value.details() or "")


async def test_graceful_stop_finishes_calls_in_flight_and_turns_health_off() -> None:
    s = GrpcServer(host="127.0.0.1", port=0, error_domain="test.portal", registrars=[register],
                   service_names=[SERVICE])
    await s.start()
    in_flight = asyncio.create_task(call(s, "slow"))
    await asyncio.sleep(0.1)
    stopping = asyncio.create_task(s.stop(2.0))
    assert (await in_flight).value == "slow"
    await stopping
    with pytest.raises(grpc.aio.AioRpcError):
        await call(s, "after")
