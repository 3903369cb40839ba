"""A software authenticator app for tests, the demo and the hardening suites: the TOTP secrets it was given (by
V-identifier) and the codes it shows. The portal accepts each code once and a code of the step before or after the
current one, so up to three logins fit in one 30-second step; past that ``code`` says how long to wait (a test with
a movable clock moves it instead)."""
from __future__ import annotations

import asyncio
import datetime as dt
from dataclasses import dataclass, field

import pyotp

STEP = 30
MARGIN_SECONDS = 5


@dataclass
class Authenticator:
    secrets: dict[str, str] = field(default_factory=dict)
    _used: dict[str, int] = field(default_factory=dict)

    def add(self, identifier: str, secret: str, first_step: int = 0) -> None:
        self.secrets[identifier] = secret
        self._used[identifier] = first_step

    def holds(self, identifier: str) -> bool:
        return identifier in self.secrets

    def enrolled_at(self, identifier: str, moment: dt.datetime) -> None:
        """The enrolment's confirmation used the current step's code."""
        self._used[identifier] = int(moment.timestamp()) // STEP

    def code(self, identifier: str, moment: dt.datetime) -> str | None:
        """A code not used yet that the portal accepts at ``moment`` (None: wait for the next step)."""
        current = int(moment.timestamp()) // STEP
        # The step before is accepted only until this one ends: not in its last seconds, when the call may reach
        # the portal after the boundary (a loaded machine).
        late = STEP - moment.timestamp() % STEP < MARGIN_SECONDS
        for step in (current, current + 1) if late else (current - 1, current, current + 1):
            if step > self._used.get(identifier, 0):
                self._used[identifier] = step
                return pyotp.TOTP(self.secrets[identifier]).at(step * STEP)
        return None

    def seconds_to_next_code(self, moment: dt.datetime) -> float:
        return STEP - moment.timestamp() % STEP + 0.05

    async def next_code(self, identifier: str) -> str:
        """A code the portal accepts now, on the real clock (waiting for the next step when three were used)."""
        while (found := self.code(identifier, dt.datetime.now(dt.UTC))) is None:
            await asyncio.sleep(self.seconds_to_next_code(dt.datetime.now(dt.UTC)))
        return found
