"""Reading the development mail sink's folder (one .eml file per mail) for the /dev/mailbox page.

The sink itself (testing/mailsink.py, aiosmtpd) is dev tooling and never ships; this page only needs the file format.
"""
from __future__ import annotations

import email
import email.policy
from email.message import EmailMessage
from pathlib import Path


def read_mailbox(directory: Path) -> list[EmailMessage]:
    """Every stored mail, oldest first (file names start with the time they were received)."""
    mails = []
    for path in sorted(directory.glob("*.eml")):
        message = email.message_from_bytes(path.read_bytes(), policy=email.policy.default)
        if isinstance(message, EmailMessage):  # always so with policy.default; narrows the type
            mails.append(message)
    return mails
