"""What several hardening suites need: service processes on loopback, and events published as a service's outbox
relay publishes them (same headers), so that the services under test see exactly what production sends."""
from __future__ import annotations

import subprocess
from pathlib import Path

from google.protobuf.message import Message
from nats.js import JetStreamContext

from bench.servers import spawn, wait_serving
from kit.messaging.outbox import outbox_row
from kit.testing.processes import free_port


async def publish_as(js: JetStreamContext, producer: str, subject: str, message: Message) -> str:
    """Publish ``message`` with the envelope headers ``producer``'s relay would set; returns the event id."""
    row = outbox_row(subject, message, producer=producer)
    await js.publish(subject, row.payload, headers=dict(row.headers))
    return row.event_id


class Processes:
    """``python -m <module>`` processes started by a suite, each with its own port and log; ``stop`` ends them all."""

    def __init__(self, logs: Path) -> None:
        self.logs = logs
        self.running: list[tuple[subprocess.Popen[bytes], Path]] = []

    def start(self, module: str, env: dict[str, str], *, port_variable: str = "GRPC_PORT") -> int:
        """Start one process on a free port (given to it in ``port_variable``); returns the port."""
        port = free_port()
        log = self.logs / f"{module}{len(self.running)}.log"
        process = spawn(["-m", module], {"METRICS_PORT": "0", "LOG_LEVEL": "WARNING", **env, port_variable: str(port)},
                        log)
        self.running.append((process, log))
        return port

    async def serving(self, port: int) -> None:
        """Wait for the gRPC health check; a process that never serves fails with the end of its log."""
        try:
            await wait_serving(f"127.0.0.1:{port}")
        except AssertionError:  # wait_for gave up
            tails = "\n".join(f"--- {log.name}\n{log.read_text(errors='replace')[-1500:]}" for _, log in self.running)
            raise RuntimeError(f"port {port} never served\n{tails}") from None

    def stop(self) -> None:
        for process, _ in self.running:
            if process.poll() is None:
                process.terminate()
        for process, _ in self.running:
            try:
                process.wait(15)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()
