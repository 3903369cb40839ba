"""Asking the support mailer for an e-mail: an ``EmailRequested`` event in the caller's outbox.

The client side of support's mail contract (portal/support/v1/events.proto, email_values.proto), for every service
that sends mail. It lives beside the services, not in the kit: the kit knows only the shared subject, never a
service's messages.

A mail is built by one typed function per kind (notify.mails: every value required, times as datetimes, choices as
enums, secrets included) and queued with ``send_mail``. Every sender now asks this way: the untyped ``params`` of
EmailRequested are never set here any more, and support still renders them only for requests queued before."""
from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field

from google.protobuf.message import Message
from portal.support.v1 import events_pb2

from kit.db import UnitOfWork
from kit.messaging.streams import EMAIL_SUBJECT
from kit.sealed import seal

__all__ = ["EMAIL_SUBJECT", "Mail", "Template", "send_mail"]

Template = events_pb2.EmailTemplate

# Each typed values message ↔ its field in EmailRequested's `values` oneof, named after its template.
_KINDS = {f.message_type.full_name: f.name for f in events_pb2.EmailRequested.DESCRIPTOR.oneofs_by_name["values"].fields
          if f.message_type is not None}


@dataclass(frozen=True)
class Mail:
    """One mail's typed values (a message of email_values.proto) and its secrets, sealed when it is sent."""
    values: Message
    secrets: Mapping[str, str] = field(default_factory=dict)

    def __post_init__(self) -> None:
        if self.values.DESCRIPTOR.full_name not in _KINDS:
            raise TypeError(f"{self.values.DESCRIPTOR.full_name} is not a mail's values")

    @property
    def kind(self) -> str:
        """The EmailRequested field that carries the values (``account_locked_notice``)."""
        return _KINDS[self.values.DESCRIPTOR.full_name]

    @property
    def template(self) -> events_pb2.EmailTemplate.ValueType:
        return Template.Value(f"EMAIL_TEMPLATE_{self.kind.upper()}")


def send_mail(uow: UnitOfWork, mail: Mail, *, to: list[tuple[str, str]], language: str, seal_key: str = "",
              reply_to: tuple[str, str] | None = None, attachments: list[tuple[str, str]] | None = None) -> str:
    """Queue ``mail`` in this transaction, to ``to`` ([(address, display name)]) in ``language``; its secrets are
    sealed to the mailer's key (``seal_key``) before they are stored."""
    message = events_pb2.EmailRequested(
        template=mail.template,
        language=language,
        to=[events_pb2.EmailRecipient(address=address, display_name=name) for address, name in to],
        sealed_secrets=seal(seal_key, dict(mail.secrets)) if mail.secrets else b"",
        attachments=[events_pb2.EmailAttachmentRef(kind=events_pb2.EmailAttachmentKind.Value(
            f"EMAIL_ATTACHMENT_KIND_{kind}"), id=ident) for kind, ident in attachments or ()],
    )
    if reply_to:
        message.reply_to.CopyFrom(events_pb2.EmailRecipient(address=reply_to[0], display_name=reply_to[1]))
    getattr(message, mail.kind).CopyFrom(mail.values)
    return uow.publish(EMAIL_SUBJECT, message)
