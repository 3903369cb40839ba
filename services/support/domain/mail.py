"""A spooled mail: one per EmailRequested event, kept until the SMTP server accepted it, refused it for good, or it
grew too old. Pure Python; the sending itself is the mailer's (service_layer/mailer.py)."""
from __future__ import annotations

import datetime as dt
import enum
from dataclasses import dataclass, field

GIVE_UP_AFTER = dt.timedelta(hours=72)
MAX_BACKOFF = 600.0


class Outcome(enum.StrEnum):
    SENT = "SENT"
    FAILED = "FAILED"  # refused for good, cannot be composed, or too old: never tried again
    RETRY = "RETRY"


class MailStatus(enum.StrEnum):
    PENDING = "PENDING"
    SENT = "SENT"
    FAILED = "FAILED"


@dataclass(eq=False)
class SpooledMail:
    event_id: str
    template: str
    language: str
    recipients: list[list[str]]  # [address, display name]
    reply_to: list[str] | None
    params: dict[str, str]
    sealed_secrets: bytes
    attachments: list[list[str]]  # [kind, id]
    created_at: dt.datetime
    next_attempt_at: dt.datetime
    status: str = MailStatus.PENDING.value
    attempts: int = 0
    last_error: str = ""
    sent_at: dt.datetime | None = field(default=None)

    def settle(self, outcome: Outcome, error: str, now: dt.datetime, *, max_backoff: float = MAX_BACKOFF) -> Outcome:
        """Records one attempt; returns what became of the mail (FAILED as well when it is too old to retry)."""
        self.attempts += 1
        if outcome == Outcome.SENT:
            self.status, self.sent_at, self.last_error = MailStatus.SENT.value, now, ""
        elif outcome == Outcome.FAILED or now - self.created_at > GIVE_UP_AFTER:
            self.status, self.last_error, outcome = MailStatus.FAILED.value, error, Outcome.FAILED
        else:
            # Exponential backoff: an SMTP outage is not hammered, and a mail comes back within max_backoff.
            self.last_error = error
            self.next_attempt_at = now + dt.timedelta(seconds=min(2.0 ** (self.attempts - 1), max_backoff))
            return Outcome.RETRY
        self.sealed_secrets = b""  # settled: the secrets have served their purpose
        return outcome
