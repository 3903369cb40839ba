"""Migration 0010 on a database written by the previous version: each account remembers the devices its recorded
logins came from in the last 90 days, so the new-device notice goes on as before (both databases)."""
from __future__ import annotations

import datetime as dt
import json

from kit import migrations
from tests.integration.raw_sql import run

from identity.bootstrap import MIGRATIONS
from identity.domain.devices import Device, fingerprint, seen_from

NOW = dt.datetime.now(dt.UTC).replace(microsecond=0)
FIREFOX = Device("Firefox", "Windows", "192.0.2.10")


def account(identifier: str) -> tuple[str, dict[str, object]]:
    return ("INSERT INTO accounts (identifier, cofor_root, given_name, family_name, email, phone, job_title, language, "
            "is_administrator, state, disabled_cause, lock_cause, failed_attempts, password_hash, "
            "must_change_password, password_history, created_by, created_at, updated_at) VALUES (:id, 'ROOT01', 'A', "
            "'B', 'a@x.example', '', '', 'fr', false, 'ACTIVE', '', '', 0, 'h', false, '[]', 'V000001', :now, :now)",
            {"id": identifier, "now": NOW})


def session(n: int, identifier: str, device: Device, days_ago: int, *, user_agent: str | None = "UA",
            step: str = "") -> tuple[str, dict[str, object]]:
    opened = NOW - dt.timedelta(days=days_ago)
    return ("INSERT INTO sessions (token_digest, identifier, must_change_password, created_at, expires_at, "
            "idle_expires_at, second_factor_step, amr, browser, operating_system, user_agent, client_address) VALUES "
            "(:digest, :id, false, :at, :at, :at, :step, 'pwd', :browser, :system, :ua, :address)",
            {"digest": bytes([n]) * 32, "id": identifier, "at": opened, "step": step, "browser": device.browser,
             "system": device.operating_system, "ua": user_agent, "address": device.client_address})


async def test_0010_fills_the_known_devices_from_the_recorded_logins(database_url: str) -> None:
    await migrations.upgrade(database_url, MIGRATIONS, "0009")
    chrome, safari = Device("Chrome", "Linux", "192.0.2.10"), Device("Safari", "iOS", "203.0.113.9")
    await run(database_url, account("V000001"), account("V000002"), account("V000003"),
              session(1, "V000001", FIREFOX, 3), session(2, "V000001", FIREFOX, 1), session(3, "V000001", chrome, 10),
              session(4, "V000001", safari, 120),  # older than 90 days: forgotten
              session(5, "V000002", safari, 2, step="VERIFY"),  # waited for its factor: not a login yet
              session(6, "V000003", chrome, 5, user_agent=None))  # before 0009: its origin is unknown
    await migrations.upgrade(database_url, MIGRATIONS)
    [rows] = await run(database_url, ("SELECT identifier, known_devices FROM accounts", {}))
    known = {str(k): v if isinstance(v, dict) else json.loads(str(v)) for k, v in rows}
    assert known["V000002"] == {} and known["V000003"] == {}
    last_use = {k: dt.datetime.fromisoformat(at) for k, at in known["V000001"].items()}
    day = dt.timedelta(days=1)
    assert last_use == {fingerprint(FIREFOX): NOW - day, fingerprint(chrome): NOW - 10 * day}  # each one's latest
    assert not seen_from(known["V000001"], FIREFOX, NOW)[1] and not seen_from(known["V000001"], chrome, NOW)[1]
    assert seen_from(known["V000001"], safari, NOW)[1]  # last used four months ago: news again
