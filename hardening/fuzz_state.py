"""What a rejected call may change (``ALLOWED_ON_REJECTION``), and how the fuzz suite (hardening/fuzz.py) reads and
compares every table of a service's SQLite file before and after a call."""
from __future__ import annotations

import fnmatch
import sqlite3
from typing import Any

from sqlalchemy.engine import make_url

# Columns written by background loops, never by a request: left out of the comparison.
BACKGROUND_COLUMNS = {
    "outbox.published_at": "the relay marks rows after the JetStream ack, in bulk about once a second",
    "mail_spool.status": "the mailer's sender records each delivery attempt",
    "mail_spool.attempts": "the mailer's sender records each delivery attempt",
    "mail_spool.last_error": "the mailer's sender records each delivery attempt",
    "mail_spool.next_attempt_at": "the mailer's sender reschedules a refused mail",
    "mail_spool.sent_at": "the mailer's sender records each delivery attempt",
    "mail_spool.sealed_secrets": "the mailer wipes a mail's secrets once it is settled",
}

# What a REJECTED call may change, by design: change → (the methods whose rejection may make it, why). A change is
# "<db>.<table>.<column>" (an updated column), "<db>.<table>+" / "-" (a row inserted / deleted) or
# "<db>.outbox+<subject>" (an event). ARCHITECTURE §5 is the design's section on credentials and sessions.
PASSWORD_CHECKS = ("IdentityService.Login", "IdentityService.ChangePassword")
LOCK = "the last allowed wrong password (or a previous one) blocks the account: sessions revoked, event, mail (§5)"
ALLOWED_ON_REJECTION: dict[str, tuple[tuple[str, ...], str]] = {
    "identity.accounts.failed_attempts": (PASSWORD_CHECKS, "a wrong password counts toward the lockout (§5)"),
    "identity.audit_events+": (PASSWORD_CHECKS, "failed logins and password changes are audited (§5 audit)"),
    "identity.outbox+identity.audit.recorded": (PASSWORD_CHECKS, "every audit record is published (§5 audit)"),
    "identity.rate_counters+": (("IdentityService.Login", "IdentityService.ActivateAccount"),
                                "the login and activation limits count refused attempts too (a guessed token too)"),
    "identity.rate_counters.count": (("IdentityService.Login", "IdentityService.ActivateAccount"),
                                     "the login and activation limits count refused attempts too"),
    "cofor.rate_counters+": (("CoforService.AcceptTerms", "CoforService.StartPresentation"),
                             "guessing acceptance tokens costs attempts; a refused file start counts for the client "
                             "and for the once-an-hour notice to the D-U-N-S's presenter (§3)"),
    "cofor.rate_counters.count": (("CoforService.AcceptTerms", "CoforService.StartPresentation"),
                                  "guessing acceptance tokens costs attempts; a refused file start counts too"),
    "support.rate_counters+": (("SupportService.CreateTicket",),
                               "the ticket limits are counted before the screenshot is decoded (§8): a screenshot "
                               "refused after them still counts"),
    "support.rate_counters.count": (("SupportService.CreateTicket",),
                                    "the ticket limits are counted before the screenshot is decoded (§8)"),
    "cofor.outbox+notification.email.requested": (("CoforService.StartPresentation",),
                                                  "the confirmed file's presenter is told that someone tried to "
                                                  "present the same D-U-N-S (§3 step 1)"),
    "identity.accounts.state": (PASSWORD_CHECKS, LOCK),
    "identity.accounts.lock_cause": (PASSWORD_CHECKS, LOCK),
    "identity.accounts.locked_at": (PASSWORD_CHECKS, LOCK),
    "identity.accounts.updated_at": (PASSWORD_CHECKS, LOCK),
    "identity.sessions.revoked_at": (PASSWORD_CHECKS, LOCK),
    "identity.outbox+identity.account.locked": (PASSWORD_CHECKS, LOCK),
    "identity.outbox+notification.email.requested": (PASSWORD_CHECKS, LOCK),
    "identity.sessions.idle_expires_at": (("IdentityService.*",),
                                          "any call with a valid session pushes its idle expiry, once a minute (§5)"),
    "identity.sessions.last_active_at": (("IdentityService.*",),
                                         "written with the idle expiry: the last activity \"My sessions\" shows (§7)"),
}


def allowed_on_rejection(method: str, change: str) -> bool:
    methods, _ = ALLOWED_ON_REJECTION.get(change, ((), ""))
    return any(fnmatch.fnmatchcase(method, pattern) for pattern in methods)


class SqliteFile:
    """One service's SQLite file, read whole through the stdlib driver (WAL: never in the services' way)."""

    def __init__(self, name: str, url: str) -> None:
        self.name = name
        self.connection = sqlite3.connect(make_url(url).database or "", isolation_level=None, timeout=30)
        self.tables: dict[str, tuple[list[str], list[int], list[int]]] = {}  # columns, key indexes, compared
        for (table,) in self.connection.execute(
                "SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%' ORDER BY name"):
            info = self.connection.execute(f'PRAGMA table_info("{table}")').fetchall()
            columns = [row[1] for row in info]
            keys = [i for i, row in enumerate(info) if row[5]] or list(range(len(columns)))
            compared = [i for i, c in enumerate(columns) if f"{table}.{c}" not in BACKGROUND_COLUMNS]
            self.tables[table] = (columns, keys, compared)

    def version(self) -> int:
        """Changes whenever another connection committed (PRAGMA data_version): a cheap "nothing happened"."""
        return int(self.connection.execute("PRAGMA data_version").fetchone()[0])

    def read(self) -> dict[str, dict[tuple[Any, ...], tuple[Any, ...]]]:
        snapshot = {}
        self.connection.execute("BEGIN")  # one consistent read of every table
        try:
            for table, (_, keys, _) in self.tables.items():
                rows = self.connection.execute(f'SELECT * FROM "{table}"').fetchall()
                snapshot[table] = {tuple(r[i] for i in keys): r for r in rows}
        finally:
            self.connection.execute("COMMIT")
        return snapshot

    def pending_events(self, published: int) -> bool:
        return int(self.connection.execute("SELECT count(*) FROM outbox").fetchone()[0]) > published

    def changes(self, before: dict[str, dict[tuple[Any, ...], tuple[Any, ...]]],
                after: dict[str, dict[tuple[Any, ...], tuple[Any, ...]]]) -> list[str]:
        found: list[str] = []
        for table, (columns, _, compared) in self.tables.items():
            old, new = before[table], after[table]
            if old == new:
                continue
            prefix = f"{self.name}.{table}"
            for key in new.keys() - old.keys():
                subject = new[key][columns.index("subject")] if table == "outbox" else ""
                found.append(f"{prefix}+{subject}")
            found += [f"{prefix}-" for _ in old.keys() - new.keys()]
            for key in old.keys() & new.keys():
                found += [f"{prefix}.{columns[i]}" for i in compared if old[key][i] != new[key][i]]
        return sorted(set(found))

    def close(self) -> None:
        self.connection.close()
