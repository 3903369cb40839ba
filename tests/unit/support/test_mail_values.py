"""Typed mail values (email_values.proto) against the untyped ``params`` of older producers: every kind, built with
notify.mails, renders byte for byte the mail its ``params`` gave (both languages, every choice); the contract's three
ends agree (oneof field ↔ template ↔ builder ↔ template file); and values that cannot be their mail are refused by
the sender's builder or given up by the mailer alone, with the reason."""
from __future__ import annotations

import datetime as dt
import json
import re
from pathlib import Path

import pytest
from portal.support.v1 import email_values_pb2 as v
from portal.support.v1 import events_pb2 as ev
from portal.support.v1 import ticket_pb2 as pb

from kit.messaging.envelope import EventContext
from notify import Mail, mails
from notify.mails import AdministratorContact, Factor, FactorChange, LockCause, PasswordContext
from tests.unit.support.builders import world
from tests.unit.support.fakes import unit_of_work

from support.adapters.mail_renderer import TEMPLATES, MailRenderer
from support.adapters.mail_values import CHOICES, MailValuesError, template_values
from support.domain.mail import MailStatus
from support.service_layer.mailer import template_key

AT = dt.datetime(2026, 12, 1, 9, 30, 15, 123456, tzinfo=dt.UTC)
LATER = AT + dt.timedelta(hours=72)
ADMINS = [AdministratorContact("Paul Durand", "paul.durand@forges.example", "+33 3 83 00 00 01"),
          AdministratorContact("Léa Petit", "", "")]
CASES: list[tuple[str, Mail, dict[str, str]]] = [  # (case, typed mail, the params its producer used to send)
    ("terms", mails.terms_acceptance(
        legal_name="Forges SA", cofor="12345A  01", signatory_name="Anne Lorrain", administrator_name="Paul Durand",
        administrator_email="paul@forges.example", requested_from="203.0.113.9", request_time=AT, expire_time=LATER,
        acceptance_token="tok-1"),
     {"legal_name": "Forges SA", "cofor": "12345A  01", "signatory_name": "Anne Lorrain",
      "administrator_name": "Paul Durand", "administrator_email": "paul@forges.example",
      "requested_from": "203.0.113.9", "request_time": AT.isoformat(), "expire_time": LATER.isoformat()}),
    ("terms-no-origin", mails.terms_acceptance(
        legal_name="Forges SA", cofor="12345A  01", signatory_name="Anne", administrator_name="Paul",
        administrator_email="", requested_from="", request_time=AT, expire_time=LATER, acceptance_token="tok-1"),
     {"legal_name": "Forges SA", "cofor": "12345A  01", "signatory_name": "Anne", "administrator_name": "Paul",
      "administrator_email": "", "requested_from": "", "request_time": AT.isoformat(),
      "expire_time": LATER.isoformat()}),
    ("under-review", mails.access_request_under_review(
        legal_name="Forges SA", cofor="12345A  01", administrator_email="eve@x.example", requested_from="203.0.113.9",
        request_time=AT.replace(tzinfo=None)),  # SQLite gives naive UTC datetimes back
     {"legal_name": "Forges SA", "cofor": "12345A  01", "administrator_email": "eve@x.example",
      "requested_from": "203.0.113.9", "request_time": AT.replace(tzinfo=None).isoformat()}),
    ("started", mails.presentation_started(legal_name="Forges SA", duns="123456789", presentation_id="p-1",
                                           expire_time=LATER, presenter_token="tok-2"),
     {"legal_name": "Forges SA", "duns": "123456789", "presentation_id": "p-1", "expire_time": LATER.isoformat()}),
    ("submitted", mails.presentation_submitted(legal_name="Forges SA", duns="123456789", presentation_id="p-1"),
     {"legal_name": "Forges SA", "duns": "123456789", "presentation_id": "p-1"}),
    ("rejected", mails.presentation_rejected(legal_name="Forges SA", duns="123456789", presentation_id="p-1",
                                             reason="Outside our\nscope"),
     {"legal_name": "Forges SA", "duns": "123456789", "presentation_id": "p-1", "reason": "Outside our\nscope"}),
    ("rejected-no-reason", mails.presentation_rejected(legal_name="F", duns="1", presentation_id="p", reason=""),
     {"legal_name": "F", "duns": "1", "presentation_id": "p", "reason": ""}),
    ("claimed", mails.presentation_duns_claimed(legal_name="Forges SA", duns="123456789", attempt_time=AT),
     {"legal_name": "Forges SA", "duns": "123456789", "attempt_time": AT.isoformat()}),
    ("referenced", mails.supplier_referenced(legal_name="Forges SA", cofor_root="12345A",
                                             head_office_cofor="12345A  01"),
     {"legal_name": "Forges SA", "cofor_root": "12345A", "head_office_cofor": "12345A  01"}),
    ("admin-welcome", mails.administrator_welcome(identifier="V100001", legal_name="Forges SA", cofor_root="12345A"),
     {"identifier": "V100001", "legal_name": "Forges SA", "cofor_root": "12345A"}),
    *((f"user-welcome-{bool(name)}", mails.user_welcome(identifier="V1", legal_name="F", cofor_root="12345A",
                                                         administrator_name=name),
       {"identifier": "V1", "legal_name": "F", "cofor_root": "12345A", "administrator_name": name})
      for name in ("Paul Durand", "")),
    *((f"activation-{bool(name)}-{resent}", mails.account_activation(
        identifier="V1", legal_name="F", cofor_root="12345A", administrator_name=name, expire_time=LATER,
        resent=resent, activation_token="tok-9"),
       {"identifier": "V1", "legal_name": "F", "cofor_root": "12345A", "administrator_name": name,
        "expire_time": LATER.isoformat(), "resent": "true" if resent else "false"})
      for name in ("Paul Durand", "") for resent in (False, True)),
    *((f"temporary-{word}", mails.temporary_password(expire_time=LATER, context=context, temporary_password="pw-3"),
       {"expire_time": LATER.isoformat(), "context": word})
      for context, word in ((PasswordContext.CONTEXT_NEW_ACCOUNT, "new_account"), (PasswordContext.CONTEXT_RESET,
                                                                                    "reset"))),
    ("admin-reset", mails.administrator_reset_password(expire_time=LATER, temporary_password="pw-4"),
     {"expire_time": LATER.isoformat()}),
    *((f"{kind}-{len(admins)}", build(administrators=admins, legal_name="Forges SA"),
       {"administrators": json.dumps([a._asdict() for a in admins], ensure_ascii=False), "legal_name": "Forges SA"})
      for kind, build in (("reset-notice", mails.reset_by_administrator_notice),
                          ("contact", mails.administrator_contact)) for admins in (ADMINS, [])),
    *((f"recovery-{len(ids)}", mails.identifier_recovery(identifiers=ids, legal_name="F", cofor_root="12345A"),
       {"identifiers": json.dumps(ids), "legal_name": "F", "cofor_root": "12345A"})
      for ids in (["V100001"], ["V100001", "V100002"])),
    ("user-message", mails.user_message_to_administrator(user_name="Bob", user_identifier="V2",
                                                         user_email="bob@forges.example", message="Help\nme"),
     {"user_name": "Bob", "user_identifier": "V2", "user_email": "bob@forges.example", "message": "Help\nme"}),
    *((f"account-request-{bool(text)}", mails.account_request_to_administrator(
        requester_given_name="Nina", requester_family_name="Nouvelle", requester_email="nina@forges.example",
        requester_job_title="Buyer", message=text, legal_name="Forges SA", cofor_root="12345A"),
       {"requester_given_name": "Nina", "requester_family_name": "Nouvelle", "requester_email": "nina@forges.example",
        "requester_job_title": "Buyer", "message": text, "legal_name": "Forges SA", "cofor_root": "12345A"})
      for text in ("Hello,\nsee https://evil.example", "")),
    ("account-request-acknowledgement", mails.account_request_acknowledgement(), {}),
    ("password-changed", mails.password_changed_notice(identifier="V1", change_time=AT),
     {"identifier": "V1", "change_time": AT.isoformat()}),
    *((f"locked-{word}", mails.account_locked_notice(identifier="V1", lock_time=AT, cause=cause),
       {"identifier": "V1", "lock_time": AT.isoformat(), "cause": word})
      for cause, word in ((LockCause.CAUSE_FAILED_ATTEMPTS, "failed_attempts"),
                          (LockCause.CAUSE_PREVIOUS_PASSWORD, "previous_password"))),
    *((f"factor-{word}", mails.second_factor_notice(identifier="V1", change=change, factor=factor, change_time=AT,
                                                    actor_name=actor, recovery_codes_left=left),
       {"identifier": "V1", "change": word, "factor": factor_word, "change_time": AT.isoformat(),
        "actor_name": actor, "recovery_codes_left": str(left)})
      for change, word, factor, factor_word, actor, left in (
          (FactorChange.CHANGE_ENROLLED, "enrolled", Factor.FACTOR_TOTP, "totp", "", 0),
          (FactorChange.CHANGE_REMOVED, "removed", Factor.FACTOR_TOTP, "totp", "", 0),
          (FactorChange.CHANGE_RECOVERY_CODE_USED, "recovery_code_used", Factor.FACTOR_RECOVERY_CODES,
           "recovery_codes", "", 9),
          (FactorChange.CHANGE_RECOVERY_CODES_REGENERATED, "recovery_codes_regenerated", Factor.FACTOR_RECOVERY_CODES,
           "recovery_codes", "", 0),
          (FactorChange.CHANGE_LOCKED, "locked", Factor.FACTOR_TOTP, "totp", "", 0),
          (FactorChange.CHANGE_COPY_SUSPECTED, "copy_suspected", Factor.FACTOR_PASSKEY, "passkey", "", 0),
          (FactorChange.CHANGE_ENROLLED, "enrolled", Factor.FACTOR_PASSKEY, "passkey", "", 0),
          (FactorChange.CHANGE_RESET, "reset", Factor.FACTOR_ALL, "all", "Paul Durand", 0))),
    ("email-changed", mails.email_changed_notice(identifier="V1", masked_new_email="c***@x.example", change_time=AT,
                                                 actor_name="Paul Durand"),
     {"identifier": "V1", "masked_new_email": "c***@x.example", "change_time": AT.isoformat(),
      "actor_name": "Paul Durand"}),
    *((f"new-device-{bool(browser)}", mails.new_device_login(
        identifier="V1", browser=browser, operating_system=system, client_address="203.0.113.7", login_time=AT),
       {"identifier": "V1", "browser": browser, "operating_system": system, "client_address": "203.0.113.7",
        "login_time": AT.isoformat()}) for browser, system in (("Firefox", "Windows"), ("", ""))),
    *((f"to-support-{proven}", mails.ticket_to_support(
        reference="B2B-2026-000001", category=pb.TICKET_CATEGORY_BLOCKED_ACCOUNT, subject="Locked\nout", text="Help",
        contact_name="Claire", contact_email="claire@x.example", contact_phone="+33 3", contact_company="Forges",
        contact_identifier="V1" if proven else "", contact_cofor="12345A" if proven else "", identity_proven=proven),
       {"reference": "B2B-2026-000001", "category": "BLOCKED_ACCOUNT", "subject": "Locked\nout", "text": "Help",
        "contact_name": "Claire", "contact_email": "claire@x.example", "contact_phone": "+33 3",
        "contact_company": "Forges", "contact_identifier": "V1" if proven else "",
        "contact_cofor": "12345A" if proven else "", "identity_proven": "true" if proven else "false"})
      for proven in (True, False)),
    *((f"acknowledgement-{category}", mails.ticket_acknowledgement(
        reference="B2B-2026-000001", category=pb.TicketCategory.Value(f"TICKET_CATEGORY_{category}")),
       {"reference": "B2B-2026-000001", "category": category}) for category in ("UNKNOWN_COFOR", "OTHER")),
    *((f"reply-{bool(author)}", mails.ticket_reply(reference="B2B-2026-000001", subject="Cannot\nlog in",
                                                   author=author, text="Try again."),
       {"reference": "B2B-2026-000001", "subject": "Cannot\nlog in", "author": author, "text": "Try again."})
      for author in ("Ann", "")),
]


def requested(mail: Mail) -> ev.EmailRequested:
    event = ev.EmailRequested(template=mail.template, language="fr")
    getattr(event, mail.kind).CopyFrom(mail.values)
    return event


@pytest.mark.parametrize("mail, params", [c[1:] for c in CASES], ids=[c[0] for c in CASES])
@pytest.mark.parametrize("language", ["fr", "en"])
def test_typed_values_render_the_mail_their_params_gave(mail: Mail, params: dict[str, str], language: str) -> None:
    renderer, key = MailRenderer("https://portal.example"), template_key(mail.template)
    old = ev.EmailRequested(template=mail.template, language=language, params=params)
    assert template_values(old) == params  # an older producer's request: its params, as they are
    typed = renderer.render(key, language, template_values(requested(mail)), dict(mail.secrets), "Claire Martin")
    assert typed == renderer.render(key, language, template_values(old), dict(mail.secrets), "Claire Martin")


def test_every_kind_has_its_template_its_builder_its_template_file_and_a_case() -> None:
    fields = ev.EmailRequested.DESCRIPTOR.oneofs_by_name["values"].fields
    templates = {n for n in ev.EmailTemplate.keys() if n != "EMAIL_TEMPLATE_UNSPECIFIED"}
    assert {f"EMAIL_TEMPLATE_{f.name.upper()}" for f in fields} == templates
    assert all(f.number == 100 + ev.EmailTemplate.Value(f"EMAIL_TEMPLATE_{f.name.upper()}") for f in fields)
    assert all(callable(getattr(mails, f.name, None)) and (TEMPLATES / f"{f.name}.j2").is_file() for f in fields)
    assert {mail.kind for _, mail, _ in CASES} == {f.name for f in fields}


@pytest.mark.parametrize("mail", [c[1] for c in CASES], ids=[c[0] for c in CASES])
def test_typed_values_hold_every_value_their_template_reads(mail: Mail) -> None:
    source = Path(TEMPLATES / f"{mail.kind}.j2").read_text(encoding="utf-8")
    read = set(re.findall(r"params\.(\w+)", source)) - {"get"} | set(re.findall(r"params\.get\([\"'](\w+)", source))
    assert read <= set(template_values(requested(mail)))
    assert set(re.findall(r"secrets\.(\w+)", source)) == set(mail.secrets)


def test_every_choice_has_its_word() -> None:
    enums = {f.enum_type for m in v.DESCRIPTOR.message_types_by_name.values() for f in m.fields if f.enum_type}
    for enum in enums:
        assert set(CHOICES[enum.full_name]) == {value.number for value in enum.values if value.number}


def test_builders_refuse_an_unset_or_unknown_choice() -> None:
    for cause in (LockCause.CAUSE_UNSPECIFIED, LockCause.ValueType(9)):
        with pytest.raises(ValueError):
            mails.account_locked_notice(identifier="V1", lock_time=AT, cause=cause)
    with pytest.raises(ValueError):
        mails.ticket_acknowledgement(reference="B2B-2026-000001", category=pb.TICKET_CATEGORY_UNSPECIFIED)
    with pytest.raises(ValueError):
        mails.identifier_recovery(identifiers=[], legal_name="F", cofor_root="12345A")
    with pytest.raises(TypeError):
        Mail(pb.TicketContact())


def unset_cause() -> ev.EmailRequested:
    event = requested(mails.account_locked_notice(identifier="V1", lock_time=AT, cause=LockCause.CAUSE_FAILED_ATTEMPTS))
    event.account_locked_notice.cause = LockCause.CAUSE_UNSPECIFIED
    return event


def wrong_template() -> ev.EmailRequested:
    event = requested(mails.password_changed_notice(identifier="V1", change_time=AT))
    event.template = ev.EMAIL_TEMPLATE_ACCOUNT_LOCKED_NOTICE
    return event


@pytest.mark.parametrize("event, reason", [
    (unset_cause(), "AccountLockedNoticeMail.Cause: 0 is not a choice"),
    (wrong_template(), "values of password_changed_notice for the template EMAIL_TEMPLATE_ACCOUNT_LOCKED_NOTICE"),
])
async def test_values_that_cannot_be_their_mail_are_given_up_alone_when_spooled(event: ev.EmailRequested,
                                                                                   reason: str) -> None:
    w = world()
    event.to.add(address="claire.martin@forges.example")
    ctx = EventContext(event_id="e-1", subject="notification.email.requested", event_type="", producer="test",
                       occurred_at=None, correlation_id="", delivery=1)
    with pytest.raises(MailValuesError):
        template_values(event)
    async with unit_of_work(w.store)() as uow:
        await w.mailer.spool(event, ctx, uow)
        await uow.commit()
    mail = w.store.spool["e-1"]
    assert mail.status == MailStatus.FAILED and reason in mail.last_error and mail.sealed_secrets == b""
    assert await w.mailer.send_due() == 0 and not w.smtp.sent
