"""The new-device rule (domain/devices.py seen_from, Account.signed_in_from): never the first login, news for a pair
unused for 90 days, the latest 20 pairs kept, nothing but a digest stored."""
from __future__ import annotations

import datetime as dt

from tests.unit.identity.builders import account as build

from identity.domain import events as ev
from identity.domain.devices import KNOWN_DEVICES_KEPT, Device, fingerprint, seen_from

NOW = dt.datetime(2026, 12, 6, 9, 0, tzinfo=dt.UTC)
FIREFOX = Device("Firefox", "Windows", "192.0.2.10", "Mozilla/5.0 … Firefox/128.0")


def test_the_first_login_is_no_news_and_is_remembered() -> None:
    known, news = seen_from({}, FIREFOX, NOW)
    assert not news and known == {fingerprint(FIREFOX): NOW.isoformat()}
    assert "192.0.2.10" not in str(known)  # a digest, never the address


def test_a_known_pair_is_no_news_and_another_browser_system_or_address_is() -> None:
    known, _ = seen_from({}, FIREFOX, NOW)
    assert not seen_from(known, Device("Firefox", "Windows", "192.0.2.10", "another text"), NOW)[1]  # same pair
    for other in (Device("Chrome", "Windows", "192.0.2.10"), Device("Firefox", "Linux", "192.0.2.10"),
                  Device("Firefox", "Windows", "198.51.100.7")):
        assert seen_from(known, other, NOW + dt.timedelta(hours=1))[1]


def test_a_pair_unused_for_90_days_is_news_again_and_the_old_ones_are_forgotten() -> None:
    known, _ = seen_from({}, FIREFOX, NOW)
    assert not seen_from(known, FIREFOX, NOW + dt.timedelta(days=89))[1]
    later, news = seen_from(known, FIREFOX, NOW + dt.timedelta(days=91))
    assert news and later == {fingerprint(FIREFOX): (NOW + dt.timedelta(days=91)).isoformat()}


def test_the_latest_pairs_are_kept_and_the_least_recently_used_forgotten() -> None:
    known: dict[str, str] = {}
    for n in range(KNOWN_DEVICES_KEPT + 1):
        known, _ = seen_from(known, Device("Firefox", "Windows", f"192.0.2.{n}"), NOW + dt.timedelta(minutes=n))
    assert len(known) == KNOWN_DEVICES_KEPT and fingerprint(Device("Firefox", "Windows", "192.0.2.0")) not in known
    assert seen_from(known, Device("Firefox", "Windows", "192.0.2.0"), NOW + dt.timedelta(hours=1))[1]


def test_the_account_records_a_notice_only_for_news() -> None:
    account = build("V100001")
    account.signed_in_from(FIREFOX, NOW)
    account.signed_in_from(FIREFOX, NOW + dt.timedelta(days=1))
    assert not [e for e in account.events if isinstance(e, ev.NewDeviceLogin)]
    account.signed_in_from(Device("Safari", "iOS", "203.0.113.9"), NOW + dt.timedelta(days=2))
    [told] = [e for e in account.events if isinstance(e, ev.NewDeviceLogin)]
    assert told.device.browser == "Safari" and told.at == NOW + dt.timedelta(days=2)
