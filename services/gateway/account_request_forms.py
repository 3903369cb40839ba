"""What clients send to "Ask my company's ASL for an account" (IdentityService.RequestAccount): the JSON body, and the
page's form read through the same model (gateway/forms.py's PageForm)."""
from __future__ import annotations

from pydantic import BaseModel, Field

from gateway.forms import PageForm


class AccountRequestBody(BaseModel):
    """Someone without a V-identifier asks their company's ASL for an account: every value is their claim."""
    cofor: str = Field(max_length=40)
    given_name: str = Field(max_length=300)
    family_name: str = Field(max_length=300)
    email: str = Field(max_length=320)
    job_title: str = Field(max_length=300)
    message: str = Field(default="", max_length=2000)
    language: str = Field(default="fr", max_length=5)


class AccountRequestForm(PageForm, AccountRequestBody):
    pass
