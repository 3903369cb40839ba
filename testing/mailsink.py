"""Local SMTP sink (aiosmtpd) for development and tests: stores every mail it accepts as a .eml file
(the gateway's /dev/mailbox page reads that folder, gateway/dev_mailbox.py)."""
from __future__ import annotations

import email
import email.policy
import itertools
import time
from dataclasses import dataclass
from email.message import EmailMessage
from pathlib import Path
from typing import Any

from aiosmtpd.controller import Controller
from aiosmtpd.smtp import SMTP, Envelope, Session

from testing.processes import free_port


@dataclass
class ReceivedMail:
    path: Path
    mail_from: str
    rcpt_tos: list[str]
    message: EmailMessage
    received_at: float


class _StoringHandler:
    def __init__(self, directory: Path) -> None:
        self.directory = directory
        self.directory.mkdir(parents=True, exist_ok=True)
        self.received: list[ReceivedMail] = []
        self._counter = itertools.count(len(list(self.directory.glob("*.eml"))) + 1)
        self.reject = False  # tests flip it to simulate an SMTP outage that still accepts connections

    async def handle_DATA(self, server: SMTP, session: Session, envelope: Envelope) -> str:
        if self.reject:
            return "421 Service not available, try again later"
        raw = envelope.original_content or envelope.content
        assert isinstance(raw, bytes)
        path = self.directory / f"{time.strftime('%Y%m%dT%H%M%S')}-{next(self._counter):06d}.eml"
        path.write_bytes(raw)
        message = email.message_from_bytes(raw, policy=email.policy.default)
        assert isinstance(message, EmailMessage)
        self.received.append(ReceivedMail(path, envelope.mail_from or "", list(envelope.rcpt_tos), message,
                                          time.monotonic()))
        return "250 Message accepted for delivery"


class MailSink:
    """Runs an SMTP server on a loopback port in its own thread (aiosmtpd Controller)."""

    def __init__(self, directory: Path, port: int = 0, host: str = "127.0.0.1") -> None:
        self.handler = _StoringHandler(directory)
        self.host = host
        self.port = port or free_port()
        self._controller: Controller | None = None

    @property
    def received(self) -> list[ReceivedMail]:
        return self.handler.received

    def start(self) -> MailSink:
        # A stopped Controller cannot start again: each start gets a new one, on the same port.
        self._controller = Controller(self.handler, hostname=self.host, port=self.port, ready_timeout=10)
        self._controller.start()
        return self

    def stop(self) -> None:
        if self._controller is not None:
            self._controller.stop()
            self._controller = None

    def __enter__(self) -> MailSink:
        return self.start()

    def __exit__(self, *exc: Any) -> None:
        self.stop()
