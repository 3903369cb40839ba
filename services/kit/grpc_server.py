"""The grpc.aio server every service runs: health, reflection, metrics, JSON logs, error mapping."""
from __future__ import annotations

import logging
import time
import uuid
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from typing import Any, TypeAlias, cast

import grpc
from grpc_health.v1 import health, health_pb2, health_pb2_grpc
from grpc_reflection.v1alpha import reflection
from grpc_status import rpc_status
from prometheus_client import Counter, Histogram

from kit.auth import Ctx, metadata_of
from kit.errors import DomainError, FieldViolation, InvalidArgument, internal_status_proto, to_status_proto
from kit.logging import correlation_id_var, request_id_var

log = logging.getLogger(__name__)

RPC_HANDLED = Counter("portal_grpc_server_handled_total", "RPCs completed", ["method", "code"])
RPC_LATENCY = Histogram("portal_grpc_server_handling_seconds", "RPC handling time", ["method"],
                        buckets=(0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5))

REQUEST_ID_KEY = "x-request-id"
CORRELATION_ID_KEY = "x-correlation-id"

Handler: TypeAlias = "grpc.RpcMethodHandler[Any, Any]"  # not subscriptable at run time


class ServerInterceptor(grpc.aio.ServerInterceptor):
    """One interceptor for every unary RPC: ids into the log context, metrics, domain error → status.

    The wrapped handler is built once per method and cached: this runs on every call of every service.
    """

    def __init__(self, error_domain: str) -> None:
        self._domain = error_domain
        self._wrapped: dict[str, Handler] = {}

    async def intercept_service(self, continuation: Callable[[grpc.HandlerCallDetails], Awaitable[Handler | None]],
                                details: grpc.HandlerCallDetails) -> Handler | None:
        method = details.method
        if (cached := self._wrapped.get(method)) is not None:
            return cached
        handler = await continuation(details)
        if handler is None or handler.unary_unary is None:
            return handler  # health Watch and reflection streams pass through untouched
        wrapped = self._wrap(method, handler)
        self._wrapped[method] = wrapped
        return wrapped

    def _wrap(self, method: str, handler: Handler) -> Handler:
        # Under grpc.aio the unary handler is a coroutine function (the stubs describe the sync API).
        inner = cast(Callable[[Any, Ctx], Awaitable[Any]], handler.unary_unary)
        domain = self._domain
        latency = RPC_LATENCY.labels(method)
        handled_ok = RPC_HANDLED.labels(method, "OK")

        async def unary(request: Any, context: Ctx) -> Any:
            metadata = metadata_of(context)
            request_id = metadata.get(REQUEST_ID_KEY) or str(uuid.uuid4())
            rid = request_id_var.set(request_id)
            cid = correlation_id_var.set(metadata.get(CORRELATION_ID_KEY) or request_id)
            started = time.perf_counter()
            code = grpc.StatusCode.OK
            try:
                if isinstance(request, Undecodable):
                    raise InvalidArgument([FieldViolation("request", "is not a valid message of this RPC (e.g. "
                                                          "invalid UTF-8 in a string field)", "UNDECODABLE")])
                return await inner(request, context)
            except DomainError as err:
                code = err.code
                status = to_status_proto(err, domain)
                await context.abort(err.code, err.message,
                                    trailing_metadata=rpc_status.to_status(status).trailing_metadata)
            except grpc.aio.AbortError:
                code = context.code() or grpc.StatusCode.UNKNOWN
                raise
            except Exception:
                code = grpc.StatusCode.INTERNAL
                log.exception("unhandled error in %s", method)
                status = internal_status_proto(domain)
                await context.abort(grpc.StatusCode.INTERNAL, status.message,
                                    trailing_metadata=rpc_status.to_status(status).trailing_metadata)
            finally:
                elapsed = time.perf_counter() - started
                latency.observe(elapsed)
                if code is grpc.StatusCode.OK:
                    handled_ok.inc()
                else:
                    RPC_HANDLED.labels(method, code.name).inc()
                    log.info("rpc %s -> %s", method, code.name, extra={"duration_ms": round(elapsed * 1000, 2)})
                request_id_var.reset(rid)
                correlation_id_var.reset(cid)

        return grpc.unary_unary_rpc_method_handler(
            unary, request_deserializer=tolerant(handler.request_deserializer),
            response_serializer=handler.response_serializer)


@dataclass(frozen=True)
class Undecodable:
    """What the tolerant deserializer hands over for bytes that are not the request (invalid UTF-8 in a string
    field, a truncated message): the interceptor answers INVALID_ARGUMENT instead of gRPC's UNKNOWN."""

    error: str


def tolerant(deserialize: Callable[[bytes], Any] | None) -> Callable[[bytes], Any] | None:
    if deserialize is None:
        return None

    def decode(data: bytes) -> Any:
        try:
            return deserialize(data)
        except Exception as exc:  # protobuf's DecodeError, UnicodeDecodeError...: the caller's bytes are bad
            return Undecodable(type(exc).__name__)
    return decode


Registrar: TypeAlias = Callable[[grpc.aio.Server], None]


class GrpcServer:
    """Owns the grpc.aio server and its health service; ``stop`` drains gracefully."""

    def __init__(self, *, host: str, port: int, error_domain: str, registrars: Sequence[Registrar],
                 service_names: Sequence[str], enable_reflection: bool = True,
                 extra_interceptors: Sequence[grpc.aio.ServerInterceptor] = ()) -> None:
        self.server = grpc.aio.server(
            interceptors=[ServerInterceptor(error_domain), *extra_interceptors],
            # 8 MiB: a 5 MiB screenshot must reach the service, which then explains any refusal itself.
            options=[("grpc.so_reuseport", 0), ("grpc.max_receive_message_length", 8 * 1024 * 1024)],
        )
        self.health = health.aio.HealthServicer()
        health_pb2_grpc.add_HealthServicer_to_server(self.health, self.server)
        for register in registrars:
            register(self.server)
        self._service_names = list(service_names)
        if enable_reflection:
            reflection.enable_server_reflection([*self._service_names, health.SERVICE_NAME,
                                                 reflection.SERVICE_NAME], self.server)
        self.port = self.server.add_insecure_port(f"{host}:{port}")
        if self.port == 0:
            raise RuntimeError(f"cannot bind gRPC port {host}:{port}")

    async def start(self) -> None:
        await self.server.start()
        await self.set_serving(True)

    async def set_serving(self, serving: bool) -> None:
        status = health_pb2.HealthCheckResponse.SERVING if serving else health_pb2.HealthCheckResponse.NOT_SERVING
        for name in ["", *self._service_names]:
            await self.health.set(name, status)

    async def stop(self, grace: float) -> None:
        # Readiness fails first, so load balancers stop sending; then in-flight calls get ``grace`` to finish.
        await self.health.enter_graceful_shutdown()
        await self.server.stop(grace)
