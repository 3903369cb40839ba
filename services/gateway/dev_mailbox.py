"""Reading the development mail sink's folder (one .eml file per mail) for the /dev/mailbox pages.

The sink itself (testing/mailsink.py, aiosmtpd) is dev tooling and never ships; these pages only need the file
format. Mails carry what suppliers typed (names, messages): everything read here is text for the templates to
escape. Only http(s) addresses of a text body become links; an HTML part is kept as source, never rendered.
"""
from __future__ import annotations

import datetime as dt
import email
import email.policy
import os
import re
from dataclasses import dataclass, field
from email.message import EmailMessage
from email.parser import BytesHeaderParser
from email.utils import getaddresses, parsedate_to_datetime
from pathlib import Path

# The sink's file names: the time received, then a counter (20260101T103000-000001.eml).
MAIL_ID = re.compile(r"(\d{8}T\d{6})-\d{6}")
URL = re.compile(r"https?://[^\s<>\"'`]+")
TRAILING = ".,;:!?)]}»'\""  # punctuation that ends a sentence rather than the address
HEADERS = ("From", "To", "Cc", "Reply-To", "Subject", "Date", "Message-ID", "Content-Language", "Auto-Submitted")


@dataclass(frozen=True)
class Summary:
    id: str
    received: dt.datetime | None
    to: str
    subject: str


@dataclass(frozen=True)
class Attachment:
    filename: str
    content_type: str
    size: int


@dataclass
class Mail:
    summary: Summary
    headers: list[tuple[str, str]]
    text: list[tuple[str, str]]  # ("text", …) and ("link", an http(s) URL) pieces of the text body, in order
    html_source: str = ""
    attachments: list[Attachment] = field(default_factory=list)


def mail_directory() -> Path:
    """Where the sink of `make run` stores its mails (var/mail, or $PORTAL_VAR_DIR/mail)."""
    return Path(os.environ.get("PORTAL_VAR_DIR", "var")) / "mail"


def _header(message: EmailMessage, name: str) -> str:
    try:
        return str(message.get(name, "") or "")
    except (ValueError, IndexError, TypeError):  # a header the parser cannot make sense of: shown as nothing
        return ""


def _received(mail_id: str, message: EmailMessage) -> dt.datetime | None:
    try:
        return parsedate_to_datetime(_header(message, "Date"))  # naive (-0000) is taken as UTC when shown
    except (ValueError, TypeError):
        stamp = MAIL_ID.fullmatch(mail_id)
        # the sink names its files in the machine's local time
        return dt.datetime.strptime(stamp.group(1), "%Y%m%dT%H%M%S").astimezone() if stamp else None


def _recipients(message: EmailMessage) -> list[str]:
    return [address for _, address in getaddresses([_header(message, "To"), _header(message, "Cc")]) if address]


def _summary(mail_id: str, message: EmailMessage) -> Summary:
    return Summary(mail_id, _received(mail_id, message), ", ".join(_recipients(message)) or _header(message, "To"),
                   _header(message, "Subject"))


def summaries(directory: Path, recipient: str = "") -> list[Summary]:
    """The stored mails, newest first; only those to or copied to an address containing ``recipient`` (any case)
    when one is given."""
    wanted, found = recipient.strip().lower(), []
    parser = BytesHeaderParser(policy=email.policy.default)
    for path in sorted(directory.glob("*.eml"), reverse=True):
        if not MAIL_ID.fullmatch(path.stem):
            continue
        with path.open("rb") as source:
            message = parser.parse(source)
        assert isinstance(message, EmailMessage)  # always so with policy.default; narrows the type
        if wanted and not any(wanted in address.lower() for address in _recipients(message)):
            continue
        found.append(_summary(path.stem, message))
    return found


def linked(text: str) -> list[tuple[str, str]]:
    """``text`` cut into ("text", …) and ("link", url) pieces: only http and https addresses become links (never
    javascript:, data: or anything else), without the punctuation that ends their sentence."""
    pieces: list[tuple[str, str]] = []
    start = 0
    for found in URL.finditer(text):
        url = found.group(0).rstrip(TRAILING)
        if len(url) <= len("https://"):
            continue
        pieces += [("text", text[start:found.start()]), ("link", url)]
        start = found.start() + len(url)
    pieces.append(("text", text[start:]))
    return [piece for piece in pieces if piece[1]]


def _content(part: EmailMessage) -> str:
    try:
        content = part.get_content()
    except (LookupError, ValueError):  # an unknown charset, a broken encoding
        payload = part.get_payload(decode=True)
        content = payload.decode("utf-8", "replace") if isinstance(payload, bytes) else ""
    return content if isinstance(content, str) else ""


def read_mail(directory: Path, mail_id: str) -> Mail | None:
    """One stored mail by its id (its file name without .eml), or None: an id of any other shape names no file."""
    path = directory / f"{mail_id}.eml"
    if not MAIL_ID.fullmatch(mail_id) or not path.is_file():
        return None
    message = email.message_from_bytes(path.read_bytes(), policy=email.policy.default)
    assert isinstance(message, EmailMessage)
    headers = [(name, value) for name in HEADERS if (value := _header(message, name))]
    text, html = message.get_body(preferencelist=("plain",)), message.get_body(preferencelist=("html",))
    attachments = []
    for part in message.iter_attachments():
        assert isinstance(part, EmailMessage)
        payload = part.get_payload(decode=True)
        attachments.append(Attachment(part.get_filename() or "", part.get_content_type(),
                                      len(payload) if isinstance(payload, bytes) else 0))
    return Mail(_summary(mail_id, message), headers,
                linked(_content(text)) if isinstance(text, EmailMessage) else [],
                _content(html) if isinstance(html, EmailMessage) else "", attachments)
