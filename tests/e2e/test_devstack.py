"""`make run` as a newcomer uses it: everything starts healthy, Ctrl-C stops it, a second run reuses var/."""
from __future__ import annotations

import asyncio
import json
import os
import signal
import sys
import urllib.request
from pathlib import Path

import grpc
import httpx
import nats
import pytest
from grpc_health.v1 import health_pb2, health_pb2_grpc

OFFSET = 11000  # every port shifted, so a developer's own `make run` can keep running


async def start_stack(var: Path) -> tuple[asyncio.subprocess.Process, str]:
    env = {**os.environ, "PORTAL_VAR_DIR": str(var), "PORTAL_PORT_OFFSET": str(OFFSET)}
    process = await asyncio.create_subprocess_exec(sys.executable, "-m", "tools.devstack", "run", env=env,
                                                   stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.STDOUT)
    assert process.stdout is not None
    output = b""
    while b"  try: " not in output:  # the last line of the demo data, printed after the banner
        line = await asyncio.wait_for(process.stdout.readline(), timeout=120)
        assert line, f"the stack stopped while starting:\n{output.decode()}"
        output += line
    return process, output.decode()


async def stop_stack(process: asyncio.subprocess.Process) -> int:
    process.send_signal(signal.SIGINT)
    await asyncio.wait_for(process.communicate(), timeout=60)
    return process.returncode or 0


def http(method: str, url: str, body: dict[str, str] | None = None) -> tuple[int, dict[str, object]]:
    data = json.dumps(body).encode() if body is not None else None
    request = urllib.request.Request(url, data=data, method=method, headers={"content-type": "application/json"})
    with urllib.request.urlopen(request, timeout=10) as reply:
        return reply.status, json.loads(reply.read())


async def test_make_run_starts_every_process_healthy_and_stops_cleanly(tmp_path: Path) -> None:
    var = tmp_path / "var"
    process, output = await start_stack(var)
    demo = output[output.index("Demo data"):]
    open_root = demo.split("access OPEN", 1)[1].split()[0]
    try:
        for port in (50051, 50052, 50053):
            async with grpc.aio.insecure_channel(f"127.0.0.1:{port + OFFSET}") as channel:
                reply = await health_pb2_grpc.HealthStub(channel).Check(health_pb2.HealthCheckRequest(), timeout=5)
                assert reply.status == health_pb2.HealthCheckResponse.SERVING
        # NATS admits only the services and the stream provisioner, each with its own credential made under
        # var/secrets/nats/ (0600); the provisioner made the streams before the services started.
        with pytest.raises(nats.errors.Error, match="Authorization Violation"):
            await nats.connect(f"nats://127.0.0.1:{4222 + OFFSET}", allow_reconnect=False, connect_timeout=2)
        seeds = sorted((var / "secrets" / "nats").iterdir())
        assert [s.name for s in seeds] == ["cofor.nk", "identity.nk", "provisioner.nk", "support.nk"]
        assert "streams provisioned" in (var / "logs" / "provision.log").read_text()
        assert {s.stat().st_mode & 0o777 for s in seeds} == {0o600}
        assert (var / "secrets").stat().st_mode & 0o077 == 0
        # A fresh process's first call is an operator listing: nothing may depend on an earlier request.
        listing = await asyncio.create_subprocess_exec(
            sys.executable, "-m", "portalctl", "cofor", "list", stdout=asyncio.subprocess.PIPE,
            stderr=asyncio.subprocess.PIPE, env={**os.environ, "PORTAL_VAR_DIR": str(var),
                                                 "COFOR_TARGET": f"127.0.0.1:{50051 + OFFSET}"})
        _, err = await listing.communicate()
        assert listing.returncode == 0, err.decode()
        status, ready = await asyncio.to_thread(http, "GET", f"http://127.0.0.1:{8080 + OFFSET}/readyz")
        assert status == 200 and set(ready.values()) == {"SERVING"}
        base = f"http://127.0.0.1:{8080 + OFFSET}"
        async with httpx.AsyncClient(base_url=base) as web:
            token = (await web.get("/api/v1/csrf")).json()["csrf_token"]
            reply = await web.post("/api/v1/access:analyze", json={"cofor": "12345A"},
                                   headers={"x-csrf-token": token, "cookie": f"__Host-portal_csrf={token}"})
            assert reply.status_code == 200 and reply.json()["outcome"] == "ANALYSIS_OUTCOME_INVALID_COFOR"
            demo_open = await web.post("/api/v1/access:analyze", json={"cofor": open_root},
                                       headers={"x-csrf-token": token, "cookie": f"__Host-portal_csrf={token}"})
            assert demo_open.json()["outcome"] == "ANALYSIS_OUTCOME_ACCESS_OPEN"  # the seeded open company
        # The demo application signs in with the portal: registered on first start, its secret in var/secrets/.
        async with httpx.AsyncClient(base_url=f"http://127.0.0.1:{8090 + OFFSET}") as quality_app:
            assert "Se connecter avec le portail" in (await quality_app.get("/")).text
            sent = await quality_app.get("/login")
            assert sent.status_code == 302 and sent.headers["location"].startswith(
                f"http://localhost:{8080 + OFFSET}/oidc/authorize?") and "client_id=quality-demo&" in sent.headers[
                "location"]
        assert (var / "secrets" / "demo-app.env").stat().st_mode & 0o777 == 0o600
        listed = await asyncio.create_subprocess_exec(
            sys.executable, "-m", "portalctl", "oidc", "clients", "list", stdout=asyncio.subprocess.PIPE,
            stderr=asyncio.subprocess.PIPE, env={**os.environ, "PORTAL_VAR_DIR": str(var),  # the stack's ports:
                                                 "PORTAL_PORT_OFFSET": str(OFFSET)})  # found from the offset alone
        out, err = await listed.communicate()
        assert listed.returncode == 0 and "quality-demo" in out.decode(), err.decode()
    finally:
        code = await stop_stack(process)
    assert code == 0
    assert (var / "db" / "cofor.sqlite3").exists() and (var / "nats" / "jetstream").exists()
    secrets = (var / "secrets" / "dev.env").read_text()

    again, output_again = await start_stack(var)  # same var/: reused, not re-created (nor re-seeded)
    assert await stop_stack(again) == 0
    assert output_again[output_again.index("Demo data"):] == demo
    assert (var / "secrets" / "dev.env").read_text() == secrets
    assert (var / "secrets" / "demo-app.env").exists()  # registered once: the second start reused it
