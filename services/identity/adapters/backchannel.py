"""Back-channel logout (OpenID Connect Back-Channel Logout 1.0; ARCHITECTURE §14): when a portal session ends
(logout, lock, disable, password change or reset, company closure), each application it signed in to is sent a
signed logout token naming the person (`sub`) and the session (`sid`).

The deliveries are owed in the transaction that ends the session (oidc_logout_deliveries) and sent here, by every
replica: each claims a batch (skipping those another holds), posts the tokens in parallel, and retries an
application that did not answer 2xx with a growing delay, for a day at most. One slow or broken application never
holds up the others: each post has its own short timeout. Tokens are signed when sent; none is stored. While idle,
it also sweeps what the provider no longer needs (expired refresh tokens, assertions, ended sessions' links)."""
from __future__ import annotations

import asyncio
import contextlib
import datetime as dt
import logging
import time
import uuid
from collections.abc import Callable
from typing import Any

import httpx

from identity.adapters.signing_keys import SigningKeys
from identity.domain import events as ev
from identity.domain.oidc import BACKCHANNEL_EVENT
from identity.service_layer.unit_of_work import IdentityUnitOfWork

log = logging.getLogger(__name__)
BATCH = 20
CLAIM = dt.timedelta(seconds=60)  # a replica that dies mid-batch leaves it to the others after this
POST_TIMEOUT_SECONDS = 5.0
MAX_ATTEMPTS = 12  # 5 s, 10 s, 20 s … capped at an hour: about a day in all
IDLE_POLL_SECONDS = 5.0
SWEEP_SECONDS = 600.0


def retry_delay(attempts: int) -> dt.timedelta:
    return dt.timedelta(seconds=min(5 * 2 ** max(attempts - 1, 0), 3600))


class BackchannelLogouts:
    def __init__(self, uow: Callable[..., IdentityUnitOfWork], keys: SigningKeys, issuer: str,
                 clock: Callable[[], dt.datetime], owed: asyncio.Event | None = None,
                 transport: httpx.AsyncBaseTransport | None = None) -> None:
        self.uow, self.keys, self.issuer, self.clock = uow, keys, issuer, clock
        self.transport = transport
        self._owed = owed or asyncio.Event()  # set once a transaction owing deliveries commits: sent at once

    async def run(self, stop: asyncio.Event) -> None:
        swept = -SWEEP_SECONDS
        async with httpx.AsyncClient(timeout=POST_TIMEOUT_SECONDS, follow_redirects=False,
                                     transport=self.transport) as http:
            while not stop.is_set():
                if await self.send_due(http):
                    continue
                if time.monotonic() - swept >= SWEEP_SECONDS:  # the provider's housekeeping, while idle
                    swept = time.monotonic()
                    await self.sweep()
                self._owed.clear()
                waiters = [asyncio.ensure_future(self._owed.wait()), asyncio.ensure_future(stop.wait())]
                await asyncio.wait(waiters, timeout=IDLE_POLL_SECONDS, return_when=asyncio.FIRST_COMPLETED)
                for waiter in waiters:
                    waiter.cancel()

    async def sweep(self) -> None:
        """Refresh tokens, assertions and sessions' applications a day past their end: no check needs them."""
        async with self.uow() as uow:
            await uow.oidc.sweep(self.clock() - dt.timedelta(days=1))
            await uow.commit()

    async def send_due(self, http: httpx.AsyncClient) -> int:
        """One batch: claimed, sent, and each delivery done, retried later or given up. How many were tried."""
        now = self.clock()
        async with self.uow() as uow:
            due = await uow.oidc.due_logouts(now, now + CLAIM, BATCH)
            await uow.commit()
        if not due:
            return 0
        answered = await asyncio.gather(*(self._post(http, row) for row in due))
        async with self.uow() as uow:
            for row, ok in zip(due, answered, strict=True):
                if ok or row["attempts"] >= MAX_ATTEMPTS:
                    await uow.oidc.logout_done(row["id"])
                    account = await uow.accounts.get(row["identifier"])
                    outcome = "delivered" if ok else f"not answered after {row['attempts']} attempts"
                    uow.record(ev.ApplicationLogoutSent(identifier=row["identifier"], at=self.clock(),
                                                        cofor_root=account.cofor_root if account else "",
                                                        detail=f"client {row['client_id']}: {outcome}"))
                else:
                    await uow.oidc.logout_later(row["id"], self.clock() + retry_delay(row["attempts"]))
            await uow.commit()
        return len(due)

    async def _post(self, http: httpx.AsyncClient, row: dict[str, Any]) -> bool:
        issued = int(self.clock().timestamp())
        token = await self.keys.sign({"iss": self.issuer, "aud": row["client_id"], "iat": issued,
                                      "exp": issued + 120, "jti": str(uuid.uuid4()), "sub": row["subject"] or "",
                                      "sid": row["sid"], "events": {BACKCHANNEL_EVENT: {}}}, "logout+jwt")
        with contextlib.suppress(httpx.HTTPError):
            answer = await http.post(row["uri"], data={"logout_token": token},
                                     headers={"Cache-Control": "no-store"})
            if 200 <= answer.status_code < 300:
                return True
            log.warning("back-channel logout to %s: HTTP %s", row["client_id"], answer.status_code)
            return False
        log.warning("back-channel logout to %s: no answer", row["client_id"])
        return False
