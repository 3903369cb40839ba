"""One function per mail kind: every value the mail shows is a required keyword (its secrets too), times are
datetimes (naive ones are UTC) and choices are enums, refused when unset. What each returns goes to
``notify.send_mail``. The values' meaning is documented on their messages (portal/support/v1/email_values.proto)."""
from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from typing import NamedTuple, TypeVar

from google.protobuf.descriptor import EnumDescriptor
from portal.support.v1 import email_values_pb2 as v
from portal.support.v1 import ticket_pb2

from kit.clock import to_timestamp as _time
from notify import Mail

LockCause = v.AccountLockedNoticeMail.Cause
FactorChange = v.SecondFactorNoticeMail.Change
Factor = v.SecondFactorNoticeMail.Factor
PasswordContext = v.TemporaryPasswordMail.Context
TicketCategory = ticket_pb2.TicketCategory
_Choice = TypeVar("_Choice", bound=int)


class AdministratorContact(NamedTuple):
    """An ASL as a user may reach them (empty e-mail or phone: "not provided")."""
    name: str
    email: str
    phone: str


def _choice(enum: EnumDescriptor, value: _Choice) -> _Choice:
    if not value or value not in enum.values_by_number:
        raise ValueError(f"{enum.full_name}: {value} is not a choice")
    return value


def _admins(administrators: Sequence[AdministratorContact]) -> list[v.AdministratorContactDetails]:
    return [v.AdministratorContactDetails(name=a.name, email=a.email, phone=a.phone) for a in administrators]


# ---- cofor -----------------------------------------------------------------------------------------------------------

def terms_acceptance(*, legal_name: str, cofor: str, signatory_name: str, administrator_name: str,
                     administrator_email: str, requested_from: str, request_time: dt.datetime,
                     expire_time: dt.datetime, acceptance_token: str) -> Mail:
    return Mail(v.TermsAcceptanceMail(
        legal_name=legal_name, cofor=cofor, signatory_name=signatory_name, administrator_name=administrator_name,
        administrator_email=administrator_email, requested_from=requested_from, request_time=_time(request_time),
        expire_time=_time(expire_time)), {"acceptance_token": acceptance_token})


def access_request_under_review(*, legal_name: str, cofor: str, administrator_email: str, requested_from: str,
                                request_time: dt.datetime) -> Mail:
    return Mail(v.AccessRequestUnderReviewMail(
        legal_name=legal_name, cofor=cofor, administrator_email=administrator_email, requested_from=requested_from,
        request_time=_time(request_time)))


def presentation_started(*, legal_name: str, duns: str, presentation_id: str, expire_time: dt.datetime,
                         presenter_token: str) -> Mail:
    return Mail(v.PresentationStartedMail(legal_name=legal_name, duns=duns, presentation_id=presentation_id,
                                          expire_time=_time(expire_time)), {"presenter_token": presenter_token})


def presentation_submitted(*, legal_name: str, duns: str, presentation_id: str) -> Mail:
    return Mail(v.PresentationSubmittedMail(legal_name=legal_name, duns=duns, presentation_id=presentation_id))


def presentation_rejected(*, legal_name: str, duns: str, presentation_id: str, reason: str) -> Mail:
    return Mail(v.PresentationRejectedMail(legal_name=legal_name, duns=duns, presentation_id=presentation_id,
                                           reason=reason))


def presentation_duns_claimed(*, legal_name: str, duns: str, attempt_time: dt.datetime) -> Mail:
    return Mail(v.PresentationDunsClaimedMail(legal_name=legal_name, duns=duns, attempt_time=_time(attempt_time)))


def supplier_referenced(*, legal_name: str, cofor_root: str, head_office_cofor: str) -> Mail:
    return Mail(v.SupplierReferencedMail(legal_name=legal_name, cofor_root=cofor_root,
                                         head_office_cofor=head_office_cofor))


# ---- identity --------------------------------------------------------------------------------------------------------

def administrator_welcome(*, identifier: str, legal_name: str, cofor_root: str) -> Mail:
    return Mail(v.AdministratorWelcomeMail(identifier=identifier, legal_name=legal_name, cofor_root=cofor_root))


def user_welcome(*, identifier: str, legal_name: str, cofor_root: str, administrator_name: str) -> Mail:
    return Mail(v.UserWelcomeMail(identifier=identifier, legal_name=legal_name, cofor_root=cofor_root,
                                  administrator_name=administrator_name))


def account_activation(*, identifier: str, legal_name: str, cofor_root: str, administrator_name: str,
                       expire_time: dt.datetime, resent: bool, activation_token: str) -> Mail:
    return Mail(v.AccountActivationMail(
        identifier=identifier, legal_name=legal_name, cofor_root=cofor_root, administrator_name=administrator_name,
        expire_time=_time(expire_time), resent=resent), {"activation_token": activation_token})


def temporary_password(*, expire_time: dt.datetime, context: v.TemporaryPasswordMail.Context.ValueType,
                       temporary_password: str) -> Mail:
    return Mail(v.TemporaryPasswordMail(expire_time=_time(expire_time),
                                        context=_choice(PasswordContext.DESCRIPTOR, context)),
                {"temporary_password": temporary_password})


def administrator_reset_password(*, expire_time: dt.datetime, temporary_password: str) -> Mail:
    return Mail(v.AdministratorResetPasswordMail(expire_time=_time(expire_time)),
                {"temporary_password": temporary_password})


def reset_by_administrator_notice(*, administrators: Sequence[AdministratorContact], legal_name: str) -> Mail:
    return Mail(v.ResetByAdministratorNoticeMail(administrators=_admins(administrators), legal_name=legal_name))


def identifier_recovery(*, identifiers: Sequence[str], legal_name: str, cofor_root: str) -> Mail:
    if not identifiers:
        raise ValueError("identifier_recovery: no identifier")
    return Mail(v.IdentifierRecoveryMail(identifiers=identifiers, legal_name=legal_name, cofor_root=cofor_root))


def administrator_contact(*, administrators: Sequence[AdministratorContact], legal_name: str) -> Mail:
    return Mail(v.AdministratorContactMail(administrators=_admins(administrators), legal_name=legal_name))


def user_message_to_administrator(*, user_name: str, user_identifier: str, user_email: str, message: str) -> Mail:
    return Mail(v.UserMessageToAdministratorMail(user_name=user_name, user_identifier=user_identifier,
                                                 user_email=user_email, message=message))


def password_changed_notice(*, identifier: str, change_time: dt.datetime) -> Mail:
    return Mail(v.PasswordChangedNoticeMail(identifier=identifier, change_time=_time(change_time)))


def account_locked_notice(*, identifier: str, lock_time: dt.datetime,
                          cause: v.AccountLockedNoticeMail.Cause.ValueType) -> Mail:
    return Mail(v.AccountLockedNoticeMail(identifier=identifier, lock_time=_time(lock_time),
                                          cause=_choice(LockCause.DESCRIPTOR, cause)))


def second_factor_notice(*, identifier: str, change: v.SecondFactorNoticeMail.Change.ValueType,
                         factor: v.SecondFactorNoticeMail.Factor.ValueType, change_time: dt.datetime,
                         actor_name: str = "", recovery_codes_left: int = 0) -> Mail:
    return Mail(v.SecondFactorNoticeMail(
        identifier=identifier, change=_choice(v.SecondFactorNoticeMail.Change.DESCRIPTOR, change),
        factor=_choice(v.SecondFactorNoticeMail.Factor.DESCRIPTOR, factor),
        change_time=_time(change_time), actor_name=actor_name, recovery_codes_left=recovery_codes_left))


def email_changed_notice(*, identifier: str, masked_new_email: str, change_time: dt.datetime,
                         actor_name: str) -> Mail:
    return Mail(v.EmailChangedNoticeMail(identifier=identifier, masked_new_email=masked_new_email,
                                         change_time=_time(change_time), actor_name=actor_name))


def new_device_login(*, identifier: str, browser: str, operating_system: str, client_address: str,
                     login_time: dt.datetime) -> Mail:
    return Mail(v.NewDeviceLoginMail(identifier=identifier, browser=browser, operating_system=operating_system,
                                     client_address=client_address, login_time=_time(login_time)))


def account_request_to_administrator(*, requester_given_name: str, requester_family_name: str, requester_email: str,
                                     requester_job_title: str, message: str, legal_name: str, cofor_root: str) -> Mail:
    return Mail(v.AccountRequestToAdministratorMail(
        requester_given_name=requester_given_name, requester_family_name=requester_family_name,
        requester_email=requester_email, requester_job_title=requester_job_title, message=message,
        legal_name=legal_name, cofor_root=cofor_root))


def account_request_acknowledgement() -> Mail:
    return Mail(v.AccountRequestAcknowledgementMail())


# ---- support ---------------------------------------------------------------------------------------------------------

def ticket_to_support(*, reference: str, category: ticket_pb2.TicketCategory.ValueType, subject: str, text: str,
                      contact_name: str, contact_email: str, contact_phone: str, contact_company: str,
                      contact_identifier: str, contact_cofor: str, identity_proven: bool) -> Mail:
    return Mail(v.TicketToSupportMail(
        reference=reference, category=_choice(TicketCategory.DESCRIPTOR, category), subject=subject, text=text,
        contact=ticket_pb2.TicketContact(name=contact_name, email=contact_email, phone=contact_phone,
                                         company=contact_company, identifier=contact_identifier, cofor=contact_cofor),
        identity_proven=identity_proven))


def ticket_acknowledgement(*, reference: str, category: ticket_pb2.TicketCategory.ValueType) -> Mail:
    return Mail(v.TicketAcknowledgementMail(reference=reference, category=_choice(TicketCategory.DESCRIPTOR, category)))


def ticket_reply(*, reference: str, subject: str, author: str, text: str) -> Mail:
    return Mail(v.TicketReplyMail(reference=reference, subject=subject, author=author, text=text))
