"""Server processes for benchmarks, and their CPU time (user + system, from /proc)."""
from __future__ import annotations

import asyncio
import os
import subprocess
import sys
from pathlib import Path

import grpc
from google.protobuf.wrappers_pb2 import StringValue
from grpc_health.v1 import health_pb2, health_pb2_grpc

from kit.auth import Ctx
from testing.fleet import wait_serving as wait_serving  # re-exported: the bench suites import it from here with spawn

BARE_SERVICE = "bench.v1.Bare"


def cpu_seconds(pid: int) -> float:
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    ticks = os.sysconf("SC_CLK_TCK")
    return (int(fields[11]) + int(fields[12])) / ticks  # utime + stime


def spawn(args: list[str], env: dict[str, str], log: Path) -> subprocess.Popen[bytes]:
    return subprocess.Popen([sys.executable, *args], env={**os.environ, **env}, stdout=open(log, "wb"),
                            stderr=subprocess.STDOUT)


async def _serve_bare(port: int) -> None:
    """A grpc.aio server with one trivial unary method and health: the baseline every ratio is taken against."""
    async def echo(request: StringValue, context: Ctx) -> StringValue:
        return request

    server = grpc.aio.server()
    handler = grpc.unary_unary_rpc_method_handler(echo, request_deserializer=StringValue.FromString,
                                                  response_serializer=StringValue.SerializeToString)
    server.add_generic_rpc_handlers([grpc.method_handlers_generic_handler(BARE_SERVICE, {"Echo": handler})])
    from grpc_health.v1 import health
    servicer = health.aio.HealthServicer()
    health_pb2_grpc.add_HealthServicer_to_server(servicer, server)
    server.add_insecure_port(f"127.0.0.1:{port}")
    await server.start()
    await servicer.set("", health_pb2.HealthCheckResponse.SERVING)
    await server.wait_for_termination()


if __name__ == "__main__":
    asyncio.run(_serve_bare(int(sys.argv[1])))
