"""A rendered mail as the bytes the SMTP server gets. Every address header (From, To, Reply-To) is built from
``email.headerregistry.Address`` objects, never by joining strings, and written out by ``address_header`` below,
which RFC 2047-encodes every part of a display name that is not a plain word: no folding, anywhere, can then expose
a comma, quote or angle bracket of a name as syntax. CPython 3.11's own folder does (it drops the quotes of a long
display name: "Jean, eve@attacker.example, ..." became three addresses).

The subject is written raw too (``unstructured_header``): given to ``message["Subject"]``, Python would decode an
encoded word the text holds ("=?utf-8?b?DQpSZXBseS1Ubzo...?=") into CR LF and, before 3.11.10 (CVE-2024-6923),
write it out unquoted: a new header, or a new body. ``check_headers`` then re-reads the header block we produced:
a mail whose headers are not exactly the ones we wrote is never sent.
"""
from __future__ import annotations

import base64
import email.policy
import hashlib
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from email.headerregistry import Address, AddressHeader, HeaderRegistry
from email.message import EmailMessage
from email.parser import BytesHeaderParser
from typing import Any, cast

from kit.validation import single_line

# Our address headers and subject go out exactly as written (refold_source="none"); the others are folded as usual.
# Where this Python can check the headers it generates (3.11.10 and later), it does; check_headers does anyway.
_VERIFY: dict[str, Any] = ({"verify_generated_headers": True} if hasattr(email.policy.SMTP, "verify_generated_headers")
                           else {})
SEND_POLICY = email.policy.SMTP.clone(refold_source="none", **_VERIFY)
MAX_NAME_CHARS, MAX_NAME_BYTES = 200, 600  # 600 UTF-8 bytes: an encoded name always fits in a 998-octet line
_LINE = 78
# atext (RFC 5322) but "=" and "?", which could open an encoded word: such a word needs no quoting and no encoding.
_PLAIN_WORD = re.compile(r"[A-Za-z0-9!#$%&'*+/^_`{|}~-]+")
_MESSAGE_ID = re.compile(r"[A-Za-z0-9._-]{1,100}")
# A subject written as it is: printable ASCII words (none long enough to overflow a line), no "=?" anywhere.
_PLAIN_TEXT = re.compile(r"(?!.*=\?)[!-~]{1,900}(?: [!-~]{1,900})*")
_CHUNK_BYTES = 42  # an encoded word of 42 UTF-8 bytes is 68 characters: "Subject: " and it fit in 78
_REGISTRY = HeaderRegistry()
_HEADERS_ONLY = BytesHeaderParser(policy=email.policy.default)


class MailAddressError(ValueError):
    """An address that cannot go in a mail header (not one valid ASCII addr-spec): the mail cannot be sent."""


class HeaderCheckError(ValueError):
    """The serialised mail does not read back as the headers we wrote (an injection got through): never sent."""


@dataclass(frozen=True)
class Outgoing:
    """What goes on the wire: the SMTP envelope (from our own data, never re-read from headers) and the message."""

    sender: str
    recipients: list[str]
    data: bytes


def display_name(text: str) -> str:
    """The display name a header carries: one line (kit.validation.single_line), at most 200 characters and 600
    UTF-8 bytes."""
    name = single_line(text, max_length=MAX_NAME_CHARS)
    return name.encode()[:MAX_NAME_BYTES].decode("utf-8", "ignore").rstrip()


def address(addr_spec: str, name: str = "") -> Address:
    """One recipient; refuses anything but a single plain ASCII address (the server is not asked for SMTPUTF8)."""
    spec = addr_spec.strip()
    try:
        parsed = Address(addr_spec=spec)
    except Exception as exc:  # the parser's own errors (HeaderParseError, IndexError...) all mean "not an address"
        raise MailAddressError(f"not an e-mail address: {single_line(spec, max_length=80)!r}") from exc
    if not spec.isascii() or parsed.addr_spec != spec or not parsed.domain:
        raise MailAddressError(f"not a plain ASCII e-mail address: {single_line(spec, max_length=80)!r}")
    return Address(display_name=display_name(name), addr_spec=spec)


def parse_address(value: str) -> Address:
    """Exactly one address from configuration text such as ``Portail B2B <no-reply@portal.example>``."""
    found = cast(AddressHeader, _REGISTRY("From", value)).addresses  # the registry makes "From" an address header
    if len(found) != 1:
        raise MailAddressError(f"must be exactly one address, got {len(found)}")
    return address(found[0].addr_spec, found[0].display_name)


def _encoded_word(text: str) -> str:
    return f"=?utf-8?b?{base64.b64encode(text.encode()).decode('ascii')}?="


def _tokens(a: Address) -> list[str]:
    """Plain words stay as they are; each run of other words becomes ONE encoded word. A run is never split into
    adjacent encoded words: RFC 2047 drops the space between two of them, Python's parser (and others) keep it, so
    a split would change the name for some readers. A run can therefore exceed 75 characters (readers accept it)."""
    tokens: list[str] = []
    run: list[str] = []
    for word in a.display_name.split(" ") if a.display_name else []:
        if _PLAIN_WORD.fullmatch(word):
            if run:
                tokens.append(_encoded_word(" ".join(run)))
                run = []
            tokens.append(word)
        else:
            run.append(word)
    if run:
        tokens.append(_encoded_word(" ".join(run)))
    return [*tokens, f"<{a.addr_spec}>"] if tokens else [a.addr_spec]


def address_header(name: str, addresses: Sequence[Address]) -> str:
    """The value of an address header, folded (between tokens only) into lines of at most 78 characters where a
    token allows it."""
    tokens: list[str] = []
    for n, a in enumerate(addresses):
        one = _tokens(a)
        if n < len(addresses) - 1:
            one[-1] += ","
        tokens += one
    return _folded(name, tokens)


def set_address_header(message: EmailMessage, name: str, addresses: Sequence[Address]) -> None:
    message.set_raw(name, address_header(name, addresses))


def _folded(name: str, tokens: list[str]) -> str:
    lines = [tokens[0]]
    width = len(name) + 2 + len(tokens[0])
    for token in tokens[1:]:
        if width + 1 + len(token) > _LINE:
            lines.append(token)
            width = 1 + len(token)
        else:
            lines[-1] += " " + token
            width += 1 + len(token)
    return "\n ".join(lines)


def unstructured_header(name: str, text: str) -> str:
    """The value of a text header such as Subject: ``text`` made one line (kit.validation.single_line), then written
    as it is if it is printable ASCII words with no "=?", otherwise wholly as our own encoded words, split at
    character boundaries and folded between them (readers join adjacent encoded words without the space). A reader
    can only ever decode what we encoded: the text exactly."""
    text = single_line(text)
    if not text or _PLAIN_TEXT.fullmatch(text):
        return _folded(name, text.split(" "))
    words: list[str] = []
    chunk = ""
    for char in text:
        if len((chunk + char).encode()) > _CHUNK_BYTES:
            words.append(_encoded_word(chunk))
            chunk = ""
        chunk += char
    return "\n ".join([*words, _encoded_word(chunk)])


def set_unstructured_header(message: EmailMessage, name: str, text: str) -> None:
    message.set_raw(name, unstructured_header(name, text))


def check_headers(data: bytes, message: EmailMessage, subject: str,
                  addresses: Mapping[str, Sequence[Address]]) -> None:
    """The header block of ``data`` (the serialised ``message``), re-read the way a mail client would: exactly the
    headers ``message`` holds, in the same order and number (no extra Reply-To, Bcc or Content-Type, no early end
    of the block); each address header exactly ``addresses``; the subject exactly ``subject`` made one line; no
    defect, and no decoded value with a line break or a character single_line removes. Raises HeaderCheckError
    otherwise."""
    parsed = _HEADERS_ONLY.parsebytes(data.split(b"\r\n\r\n", 1)[0] + b"\r\n\r\n")  # the body is not read
    if parsed.keys() != message.keys():
        raise HeaderCheckError(f"headers read back {parsed.keys()}, written {message.keys()}")
    if parsed.defects:
        raise HeaderCheckError(f"header block defects: {parsed.defects}")
    for name, value in parsed.items():
        if value.defects or single_line(str(value)) != str(value).strip():
            raise HeaderCheckError(f"{name} reads back with a line break, a hidden character or a defect")
    for name, expected in addresses.items():
        found = [(a.addr_spec, a.display_name) for a in parsed[name].addresses]
        if found != [(a.addr_spec, a.display_name) for a in expected]:
            raise HeaderCheckError(f"{name} reads back as other addresses than written")
    if str(parsed["Subject"]) != single_line(subject):
        raise HeaderCheckError("the subject reads back as other text than written")


def message_id(event_id: str, domain: str) -> str:
    """``<event id@domain>``, stable for the event (a resent mail can be recognised); an id that is not a plain
    token (from any producer) is replaced by a digest of itself."""
    if not _MESSAGE_ID.fullmatch(event_id):
        event_id = hashlib.sha256(event_id.encode("utf-8", "surrogatepass")).hexdigest()[:40]
    return f"<{event_id}@{domain}>"
