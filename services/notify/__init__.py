"""Asking the support mailer for an e-mail: an ``EmailRequested`` event in the caller's outbox.

The client side of support's mail contract (portal/support/v1/events.proto), for every service that sends mail.
It lives beside the services, not in the kit: the kit knows only the shared subject, never a service's messages."""
from __future__ import annotations

from collections.abc import Mapping

from portal.support.v1 import events_pb2

from kit.db import UnitOfWork
from kit.messaging.streams import EMAIL_SUBJECT
from kit.sealed import seal

__all__ = ["EMAIL_SUBJECT", "Template", "request_email"]

Template = events_pb2.EmailTemplate


def request_email(uow: UnitOfWork, *, template: int, to: list[tuple[str, str]], language: str,
                  params: Mapping[str, str] | None = None, secrets: Mapping[str, str] | None = None,
                  seal_key: str = "", reply_to: tuple[str, str] | None = None,
                  attachments: list[tuple[str, str]] | None = None) -> str:
    """Queue a mail in this transaction. ``secrets`` are sealed to the mailer's key before they are stored."""
    message = events_pb2.EmailRequested(
        template=template,  # type: ignore[arg-type]
        language=language,
        to=[events_pb2.EmailRecipient(address=address, display_name=name) for address, name in to],
        params=dict(params or {}),
        sealed_secrets=seal(seal_key, dict(secrets)) if secrets else b"",
        attachments=[events_pb2.EmailAttachmentRef(kind=events_pb2.EmailAttachmentKind.Value(
            f"EMAIL_ATTACHMENT_KIND_{kind}"), id=ident) for kind, ident in attachments or ()],
    )
    if reply_to:
        message.reply_to.CopyFrom(events_pb2.EmailRecipient(address=reply_to[0], display_name=reply_to[1]))
    return uow.publish(EMAIL_SUBJECT, message)
