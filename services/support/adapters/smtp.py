"""SMTP delivery with aiosmtplib: a small pool of kept-open connections (the system's only SMTP client)."""
from __future__ import annotations

import asyncio
from dataclasses import dataclass
from typing import TYPE_CHECKING

import aiosmtplib

if TYPE_CHECKING:
    from support.adapters.mail_message import Outgoing


@dataclass(frozen=True)
class SmtpConfig:
    host: str
    port: int
    username: str = ""
    password: str = ""
    use_tls: bool = False  # implicit TLS (port 465)
    start_tls: bool = False  # STARTTLS upgrade (port 587)
    timeout: float = 15.0


class PermanentDeliveryError(Exception):
    """The server refused the mail for good (5xx on every recipient): retrying will not help."""


class SmtpPool:
    def __init__(self, config: SmtpConfig, size: int = 4) -> None:
        self._config = config
        self._idle: asyncio.Queue[aiosmtplib.SMTP] = asyncio.Queue()
        self._slots = asyncio.Semaphore(size)

    async def _connect(self) -> aiosmtplib.SMTP:
        c = self._config
        client = aiosmtplib.SMTP(hostname=c.host, port=c.port, use_tls=c.use_tls, start_tls=c.start_tls,
                                 timeout=c.timeout)
        await client.connect()
        if c.username:
            await client.login(c.username, c.password)
        return client

    async def send(self, mail: Outgoing) -> None:
        """The envelope is the mail's own (never re-read from its headers) and the bytes go out as composed."""
        async with self._slots:
            client = self._idle.get_nowait() if not self._idle.empty() else None
            try:
                if client is None or not client.is_connected:
                    client = await self._connect()
                try:
                    await client.sendmail(mail.sender, mail.recipients, mail.data)
                except aiosmtplib.SMTPServerDisconnected:
                    client = await self._connect()  # a kept connection timed out on the server side: once more
                    await client.sendmail(mail.sender, mail.recipients, mail.data)
            except aiosmtplib.SMTPRecipientsRefused as exc:
                self._idle.put_nowait(client)  # type: ignore[arg-type]
                if all(500 <= r.code < 600 for r in exc.recipients):
                    raise PermanentDeliveryError(str(exc)) from exc
                raise
            except aiosmtplib.SMTPResponseException as exc:
                await _close(client)
                if 500 <= exc.code < 600:
                    raise PermanentDeliveryError(str(exc)) from exc
                raise
            except BaseException:
                await _close(client)
                raise
            else:
                self._idle.put_nowait(client)

    async def close(self) -> None:
        while not self._idle.empty():
            await _close(self._idle.get_nowait())


async def _close(client: aiosmtplib.SMTP | None) -> None:
    if client is not None and client.is_connected:
        try:
            await client.quit()
        except Exception:
            client.close()
