"""Where a session comes from, as its holder may recognise it: the browser and the operating system read from the
User-Agent the browser sent, and the client address. A hint for people ("Firefox on Windows, 203.0.113.7"), never a
proof of anything: anyone can send any User-Agent, so nothing here decides who may do what.

A login from a pair (browser and system, address) the account has not used for ``NEW_DEVICE_DAYS`` is told to its
holder (the first login of an account is not). The account remembers the pairs it used (``seen_from``): a login
decides without reading its history."""
from __future__ import annotations

import datetime as dt
import hashlib
import re
from dataclasses import dataclass

from kit.auth import clean_user_agent

NEW_DEVICE_DAYS = 90
NEW_DEVICE_WINDOW = dt.timedelta(days=NEW_DEVICE_DAYS)
KNOWN_DEVICES_KEPT = 20  # per account, the most recently used: one more forgets the oldest (a notice again, at worst)

# First match wins: the more specific tokens first (Edge and Opera say "Chrome" too, Chrome says "Safari" too).
_BROWSERS = (
    ("Edge", re.compile(r"\b(Edg|EdgA|EdgiOS|Edge)/")),
    ("Opera", re.compile(r"\b(OPR|Opera)/|\bOpera\b")),
    ("Samsung Internet", re.compile(r"\bSamsungBrowser/")),
    ("Firefox", re.compile(r"\b(Firefox|FxiOS)/")),
    ("Chrome", re.compile(r"\b(Chrome|CriOS|HeadlessChrome|Chromium)/")),
    ("Safari", re.compile(r"\bVersion/[\d.]+.*\bSafari/|\bMobile/\w+ Safari/")),
    ("Internet Explorer", re.compile(r"\bMSIE |\bTrident/")),
)
_SYSTEMS = (
    ("iOS", re.compile(r"\b(iPhone|iPad|iPod)\b")),
    ("Android", re.compile(r"\bAndroid\b")),
    ("ChromeOS", re.compile(r"\bCrOS\b")),
    ("Windows", re.compile(r"\bWindows\b")),
    ("macOS", re.compile(r"\bMac OS X\b|\bMacintosh\b")),
    ("Linux", re.compile(r"\bLinux\b|\bX11\b")),
)


@dataclass(frozen=True)
class Device:
    """What a session opened from: the browser and system as recognised ("" when not), the address, and the
    User-Agent text it was read from (at most 200 printable ASCII characters)."""

    browser: str = ""
    operating_system: str = ""
    client_address: str = ""
    user_agent: str = ""

    @classmethod
    def of(cls, user_agent: str, client_address: str) -> Device:
        text = clean_user_agent(user_agent)
        return cls(_first(_BROWSERS, text), _first(_SYSTEMS, text), host_of(client_address)[:100], text)


def host_of(address: str) -> str:
    """The address without what changes at every connection: a gRPC peer (``ipv4:127.0.0.1:50432``,
    ``ipv6:[::1]:50432``: a caller that forwards no client address) is its host; a forwarded address is kept."""
    scheme, _, rest = address.partition(":")
    if scheme == "ipv4" and rest:
        return rest.rpartition(":")[0] or rest
    if scheme == "ipv6" and rest.startswith("["):
        return rest[1:].partition("]")[0]
    return address


def _first(table: tuple[tuple[str, re.Pattern[str]], ...], text: str) -> str:
    return next((name for name, pattern in table if pattern.search(text)), "")


def fingerprint(device: Device) -> str:
    """The pair as compared (browser and system, address), as a digest: the account row holds no address."""
    text = "\x1f".join((device.browser, device.operating_system, device.client_address))
    return hashlib.sha256(text.encode()).hexdigest()[:16]


def seen_from(known: dict[str, str], device: Device, now: dt.datetime) -> tuple[dict[str, str], bool]:
    """After a completed login from ``device``: the pairs the account used in the last ``NEW_DEVICE_DAYS``
    (fingerprint → last use, ISO 8601), and whether this login is news — the account logged in before (not its first
    login) and never from this pair within the window."""
    last_use = {key: dt.datetime.fromisoformat(at) for key, at in known.items()}
    recent = {key: at for key, at in last_use.items() if at >= now - NEW_DEVICE_WINDOW}
    key = fingerprint(device)
    news = bool(known) and key not in recent
    recent[key] = now
    kept = sorted(recent.items(), key=lambda item: item[1], reverse=True)[:KNOWN_DEVICES_KEPT]
    return {key: at.isoformat() for key, at in kept}, news
