"""The session cache never keeps a session ended while it was being read, and the origin of a session is read the
same way whatever the browser sent (domain/devices.py)."""
from __future__ import annotations

import pytest

from kit.auth import clean_user_agent

from identity.adapters.session_cache import SessionCache
from identity.domain.devices import Device, host_of

ROW = {"identifier": "V100001", "revoked_at": None}


@pytest.mark.parametrize("ended", ["the session", "every session of the account"])
def test_a_row_read_before_an_end_is_not_cached_after_it(ended: str) -> None:
    cache = SessionCache(ttl_seconds=30)
    since = cache.loading()  # a page view starts reading the session…
    if ended == "the session":  # …meanwhile it is ended, and evicted
        cache.evict(b"digest")
    else:
        cache.evict_identifiers(["V100001"])
    cache.put(b"digest", dict(ROW), since)  # …and the page view's read comes back: stale, never cached
    assert cache.get(b"digest") is None
    cache.put(b"digest", dict(ROW), cache.loading())  # a read that began after the end is cached
    assert cache.get(b"digest") is not None
    cache.put(b"other", dict(ROW, identifier="V100002"), since)  # another account's, read at the same time, is
    assert cache.get(b"other") is not None


@pytest.mark.parametrize("user_agent, browser, system", [
    ("Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/126.0.0.0 "
     "Safari/537.36 Edg/126.0.0.0", "Edge", "Windows"),
    ("Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.5 "
     "Safari/605.1.15", "Safari", "macOS"),
    ("Mozilla/5.0 (Linux; Android 14; Pixel 8) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/126.0 Mobile "
     "Safari/537.36", "Chrome", "Android"),
    ("Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) HeadlessChrome/126.0 Safari/537.36",
     "Chrome", "Linux"),
    ("Mozilla/5.0 (iPad; CPU OS 17_5 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) FxiOS/127.0 "
     "Mobile/15E148 Safari/605.1.15", "Firefox", "iOS"),
    ("Mozilla/5.0 (X11; CrOS x86_64 14541.0.0) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/126.0 Safari/537.36",
     "Chrome", "ChromeOS"),
    ("Mozilla/5.0 (Windows NT 10.0; WOW64; Trident/7.0; rv:11.0) like Gecko", "Internet Explorer", "Windows"),
    ("python-httpx/0.27.0", "", ""),
    ("", "", ""),
])
def test_the_browser_and_system_are_read_from_the_user_agent(user_agent: str, browser: str, system: str) -> None:
    device = Device.of(user_agent, "203.0.113.7")
    assert (device.browser, device.operating_system, device.client_address) == (browser, system, "203.0.113.7")
    assert device.user_agent == user_agent


def test_what_a_browser_sends_is_kept_short_and_printable() -> None:
    assert clean_user_agent("Firefox/1\r\nX-Evil: 1\x00\u202e" + "a" * 500) == ("Firefox/1X-Evil: 1" + "a" * 500)[:200]
    assert Device.of("Firefox/128.0\nWindows", "x" * 300).client_address == "x" * 100


@pytest.mark.parametrize("address, host", [
    ("203.0.113.7", "203.0.113.7"), ("2001:db8::1", "2001:db8::1"),  # as the gateway forwards them
    ("ipv4:127.0.0.1:50432", "127.0.0.1"), ("ipv6:[::1]:50432", "::1"),  # a peer: its port changes every connection
])
def test_an_address_is_where_not_which_connection(address: str, host: str) -> None:
    assert host_of(address) == host == Device.of("", address).client_address
