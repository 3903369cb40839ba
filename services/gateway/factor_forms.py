"""What clients send about second factors (ARCHITECTURE §15): the JSON bodies, and the pages' forms read through
the same models (gateway/forms.py's PageForm)."""
from __future__ import annotations

from typing import Literal

from portal.identity.v1 import account_pb2 as identity_pb
from pydantic import BaseModel, Field

from gateway.forms import PageForm

KINDS = {"totp": identity_pb.SECOND_FACTOR_KIND_TOTP, "recovery_code": identity_pb.SECOND_FACTOR_KIND_RECOVERY_CODE}


class VerifyFactorBody(BaseModel):
    kind: Literal["totp", "recovery_code"] = "totp"
    code: str = Field(max_length=64)


class CodeBody(BaseModel):
    code: str = Field(max_length=64)


class ResetFactorsBody(BaseModel):
    reason: str = Field(default="", max_length=500)


class FactorPolicyBody(BaseModel):
    required: bool


class PasskeyAnswerBody(BaseModel):
    credential_json: str = Field(max_length=16_384, description="PublicKeyCredential.toJSON() of the answer")


class PasskeyEnrolmentBody(PasskeyAnswerBody):
    name: str = Field(default="", max_length=60, description="a label for the passkey ('Mon téléphone')")


class PasskeyAnswerForm(PageForm):
    raw = frozenset({"credential_json"})
    credential_json: str = Field(default="", max_length=16_384)


class PasskeyEnrolmentForm(PasskeyAnswerForm):
    name: str = Field(default="", max_length=60)


class VerifyFactorForm(PageForm):
    raw = frozenset({"code"})
    kind: str = Field(default="totp", max_length=20)
    code: str = Field(default="", max_length=64)


class CodeForm(PageForm):
    raw = frozenset({"code"})
    code: str = Field(default="", max_length=64)


class FactorPolicyForm(PageForm):
    required: bool = False
