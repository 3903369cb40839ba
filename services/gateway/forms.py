"""What clients send: the JSON API's bodies, and the pages' forms read through the same models.

A value over a limit is refused (400), by the API and by the pages alike: cutting it could turn a wrong value into
a right one ("en   zzzz" cut to "en   ") or make two different passwords match. A page form is the API's model
behind ``PageForm``: it strips each value, so the page comes back with what was typed and the services' own field
errors."""
from __future__ import annotations

from collections.abc import Mapping
from typing import Any, ClassVar

from fastapi import UploadFile
from pydantic import BaseModel, ConfigDict, Field, create_model, model_validator
from starlette.datastructures import UploadFile as ReceivedFile

Text = Field(default="", max_length=300)


class AnalyzeBody(BaseModel):
    cofor: str = Field(max_length=40)
    site_code: str = Field(default="", max_length=10)


class StartPresentationBody(BaseModel):
    duns: str = Field(max_length=40)
    email: str = Field(max_length=320)
    legal_name: str = Field(max_length=300)
    language: str = Field(default="fr", max_length=5)


class AddressBody(BaseModel):
    lines: list[str] = Field(default_factory=list, max_length=8)
    postal_code: str = Text
    city: str = Text
    country_code: str = Field(default="", max_length=5)


class ContactBody(BaseModel):
    given_name: str = Text
    family_name: str = Text
    email: str = Text
    phone: str = Text
    job_title: str = Text
    language: str = Field(default="fr", max_length=5)


class UpdatePresentationBody(BaseModel):
    legal_name: str = Text
    national_registration_number: str = Text
    tax_number: str = Text
    head_office_address: AddressBody | None = None
    country_code: str = Field(default="", max_length=5)
    legal_existence_proof_ref: str = Text
    legal_representative: ContactBody | None = None
    update_mask: list[str] = Field(default_factory=list, max_length=20)


class AccessRequestBody(BaseModel):
    cofor: str = Field(max_length=40)
    signatory: ContactBody
    administrator: ContactBody


class CoforBody(BaseModel):
    cofor: str = Field(max_length=40)


class AcceptTermsBody(BaseModel):
    acceptance_token: str = Field(max_length=200)
    terms_version: str = Field(max_length=40)


class LoginBody(BaseModel):
    identifier: str = Field(max_length=40)
    password: str = Field(max_length=1024)


class ChangePasswordBody(BaseModel):
    current_password: str = Field(max_length=1024)
    new_password: str = Field(max_length=1024)


class ActivateAccountBody(BaseModel):
    activation_token: str = Field(max_length=200)
    new_password: str = Field(max_length=1024)


class RecoverIdentifierBody(BaseModel):
    email: str = Field(max_length=320)
    cofor: str = Field(max_length=40)


class ResetAdministratorBody(BaseModel):
    identifier: str = Field(max_length=40)
    cofor: str = Field(max_length=40)
    email: str = Field(max_length=320)


class ContactAdministratorBody(ResetAdministratorBody):
    message: str = Field(max_length=2000)


class CreateUserBody(ContactBody):
    administrator: bool = False
    request_id: str = Field(default="", max_length=40)
    allow_duplicate_email: bool = False  # see CreateUserRequest: a second account on an address already used


class UpdateUserBody(ContactBody):
    update_mask: list[str] = Field(default_factory=list, max_length=10)


class TicketForm(BaseModel):
    """Help & Contact, multipart (the screenshot is a file)."""
    category: str = Field(max_length=40)
    subject: str = Field(max_length=300)
    text: str = Field(max_length=10_000)
    name: str = Field(max_length=300)
    email: str = Field(max_length=320)
    phone: str = Field(max_length=60)
    company: str = Field(max_length=300)
    identifier: str = Field(default="", max_length=40)
    cofor: str = Field(default="", max_length=40)
    language: str = Field(default="fr", max_length=5)
    screenshot: UploadFile | None = None


# ---- the pages' forms ----------------------------------------------------------------------------------------------

def _limit(metadata: list[Any]) -> int | None:
    return next((m.max_length for m in metadata if getattr(m, "max_length", None) is not None), None)


class PageForm(BaseModel):
    """A page's form: every value stripped, a missing one empty, a checkbox on when
    sent with any value. ``raw`` names the fields kept exactly as typed (passwords)."""
    model_config = ConfigDict(populate_by_name=True)
    raw: ClassVar[frozenset[str]] = frozenset()

    @model_validator(mode="before")
    @classmethod
    def _as_typed(cls, data: Any) -> Any:
        if not isinstance(data, Mapping):
            return data
        cleaned: dict[str, Any] = {}
        for name, field in cls.model_fields.items():
            key = field.alias or name
            value = data.get(key)
            if field.annotation in (bool, "bool"):
                cleaned[key] = isinstance(value, str) and bool(value.strip())
            elif isinstance(value, ReceivedFile):  # what the form holds (FastAPI's UploadFile derives from it)
                if field.annotation not in (str, "str"):
                    cleaned[key] = value
            elif field.annotation in (str, "str"):
                text = value if isinstance(value, str) else ""
                text = text if name in cls.raw else text.strip()
                cleaned[key] = text  # over its limit it is refused whole: a cut could make it valid ("en   zzzz")
        return cleaned

    def values(self) -> dict[str, str]:
        """What the page shows again: the typed values by form name (never the raw ones, never files)."""
        shown: dict[str, str] = {}
        for name, field in type(self).model_fields.items():
            value = getattr(self, name)
            if name not in self.raw and isinstance(value, (str, bool)):
                shown[field.alias or name] = ("1" if value else "") if isinstance(value, bool) else value
        return shown


class LoginForm(PageForm, LoginBody):
    raw = frozenset({"password"})


class PasswordForm(PageForm, ChangePasswordBody):
    raw = frozenset({"current_password", "new_password", "confirm_password"})
    confirm_password: str = Field(default="", max_length=1024)


class ActivateAccountForm(PageForm, ActivateAccountBody):
    raw = frozenset({"activation_token", "new_password", "confirm_password"})
    confirm_password: str = Field(default="", max_length=1024)


class RecoverIdentifierForm(PageForm, RecoverIdentifierBody):
    pass


class ResetAdministratorForm(PageForm, ResetAdministratorBody):
    pass


class ContactAdministratorForm(PageForm, ContactAdministratorBody):
    pass


class StartPresentationForm(PageForm, StartPresentationBody):
    pass


class CoforForm(PageForm, CoforBody):
    pass


class AcceptTermsForm(PageForm, AcceptTermsBody):
    acceptance_token: str = Field(default="", max_length=200, alias="token")
    accept: bool = False  # the page's box "I have read and accept…" (the API's call is its own act of accepting)


class OpenFileForm(PageForm):
    token: str = Field(default="", max_length=200)


class CreateUserForm(PageForm, CreateUserBody):
    pass


class ContactForm(PageForm, TicketForm):
    pass


class EmptyForm(PageForm):
    """A one-click form: nothing but its CSRF token."""


def _dotted(prefix: str, model: type[BaseModel]) -> dict[str, Any]:
    """``model``'s text fields as flat form fields named ``prefix.field``, with their limits."""
    return {f"{prefix}_{name}": (str, Field(default="", max_length=_limit(field.metadata), alias=f"{prefix}.{name}"))
            for name, field in model.model_fields.items() if field.annotation in (str, "str")}


def nested(values: Mapping[str, str]) -> dict[str, Any]:
    """Flat ``a.b`` form names as the nested object of the API's body."""
    tree: dict[str, Any] = {}
    for key, value in values.items():
        *parents, leaf = key.split(".")
        node = tree
        for parent in parents:
            node = node.setdefault(parent, {})
        node[leaf] = value
    return tree


AccessRequestForm: type[PageForm] = create_model(
    "AccessRequestForm", __base__=PageForm, cofor=(str, Field(default="", max_length=40)),
    **_dotted("signatory", ContactBody), **_dotted("administrator", ContactBody))

# The company file's page: the fields of UpdatePresentationBody, flat, the address lines in one text area.
_COMPANY_LIMITS = {"legal_name": 300, "national_registration_number": 300, "tax_number": 300, "country_code": 5,
                   "legal_existence_proof_ref": 600, "head_office_address.lines": None,
                   "head_office_address.postal_code": 40, "head_office_address.city": 300,
                   "head_office_address.country_code": 5,
                   **{f"legal_representative.{name}": 320 for name in ("given_name", "family_name", "email",
                                                                       "phone", "job_title")}}
CompanyForm: type[PageForm] = create_model(  # type: ignore[call-overload]
    "CompanyForm", __base__=PageForm, action=(str, Field(default="", max_length=20)),
    **{name.replace(".", "_"): (str, Field(default="", max_length=limit, alias=name))
       for name, limit in _COMPANY_LIMITS.items()})
