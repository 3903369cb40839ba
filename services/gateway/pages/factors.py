"""Second factor pages (ARCHITECTURE §15): the login's second step, setting up an authenticator app (a QR code drawn
here, as SVG, from the otpauth URI: no third party sees the secret), the recovery codes shown once, new codes and
removal. Every answer that shows a secret is ``Cache-Control: no-store`` (rendering.render)."""
from __future__ import annotations

from collections.abc import Iterable
from typing import Annotated

import grpc
import segno
from fastapi import APIRouter, Form, Request
from fastapi.responses import Response
from markupsafe import Markup
from portal.identity.v1 import account_pb2 as identity_pb
from portal.identity.v1 import identity_service_pb2 as identity

from kit.client import failure_of

from gateway.clients import SESSION_COOKIE, SESSION_SECONDS, set_private_cookie
from gateway.dependencies import Lang, Svc, Visitor, unfinished_step
from gateway.errors import redirect
from gateway.factor_forms import KINDS, CodeForm, VerifyFactorForm
from gateway.forms import EmptyForm
from gateway.pages.rendering import CsrfChecked, FormState, csrf_failed, failure_form, render

router = APIRouter()
SETUP = "/account/second-factor"


def qr_svg(uri: str) -> Markup:
    """The otpauth URI as an inline SVG (no script, no style attribute: the page's CSP stays strict)."""
    svg = segno.make(uri, error="m").svg_inline(scale=5, border=2, title="QR code", svgclass="qr", lineclass=None)
    return Markup(svg)  # segno's own markup; the URI is ours (a base32 secret, a V-identifier, the issuer)


def grouped(secret: str) -> str:
    return " ".join(secret[i:i + 4] for i in range(0, len(secret), 4))


FACTOR_NAMES: dict[int, str] = {identity_pb.SECOND_FACTOR_KIND_TOTP: "totp",
                                identity_pb.SECOND_FACTOR_KIND_PASSKEY: "passkey"}


def signed_in(url: str, session_token: str) -> Response:
    """A step of the login done: on to ``url`` with the new session in the HttpOnly cookie."""
    response = redirect(url)
    set_private_cookie(response, SESSION_COOKIE, session_token, SESSION_SECONDS)
    return response


def after_login(lang: str, principal: identity_pb.Principal, available: Iterable[int] = ()) -> str:
    """Where a person goes once a step of the login is done: the factor (those the account may give, when known),
    the password change, the factor's enrolment, the account."""
    if principal.second_factor_step == identity_pb.SECOND_FACTOR_STEP_VERIFY:
        names = [FACTOR_NAMES[k] for k in available if k in FACTOR_NAMES]
        return f"/{lang}/login/second-factor" + (f"?factors={','.join(names)}" if names else "")
    if principal.must_change_password:
        return f"/{lang}/password/change"
    if principal.second_factor_step == identity_pb.SECOND_FACTOR_STEP_ENROL:
        return f"/{lang}{SETUP}"
    return f"/{lang}/account"


# ---- the login's second step ----------------------------------------------------------------------------------

async def second_step_page(request: Request, lang: str, *, form: FormState | None = None, kind: str = "totp",
                           factors: Iterable[str] = ("totp",), status: int = 200) -> Response:
    """The page asking for the factor: the forms of ``factors`` (the app, a passkey), a recovery code always."""
    return await render(request, lang, "second_factor.html", status=status, title_key="factor.verify_title",
                        form=form, kind=kind, blank=FormState(), factors=list(factors))


@router.get("/{lang}/login/second-factor")
async def verify_form(request: Request, lang: Lang, factors: str = "totp") -> Response:
    if not request.cookies.get(SESSION_COOKIE):
        return redirect(f"/{lang}/login")
    shown = [name for name in FACTOR_NAMES.values() if name in factors.split(",")] or ["totp"]
    return await second_step_page(request, lang, factors=shown)


@router.post("/{lang}/login/second-factor")
async def verify(request: Request, lang: Lang, svc: Svc, csrf: CsrfChecked,
                 typed: Annotated[VerifyFactorForm, Form()]) -> Response:
    if not (token := request.cookies.get(SESSION_COOKIE)):
        return redirect(f"/{lang}/login")
    if not csrf:
        return await second_step_page(request, lang, form=csrf_failed(lang, {}), status=403)
    kind = typed.kind if typed.kind in KINDS else "totp"
    try:
        reply = await svc.identity.VerifySecondFactor(identity.VerifySecondFactorRequest(
            kind=KINDS[kind], code=typed.code), **svc.call(token))
    except grpc.aio.AioRpcError as error:
        if failure_of(error).reason.startswith("SESSION"):  # the five minutes passed: log in again
            return redirect(f"/{lang}/login?done=expired")
        return await second_step_page(request, lang, form=failure_form(lang, error, {"kind": kind}, {"code"}),
                                      kind=kind, status=401)
    return signed_in(after_login(lang, reply.principal), reply.session_token)


# ---- the holder's own factors ---------------------------------------------------------------------------------

@router.get(f"/{{lang}}{SETUP}")
async def factors(request: Request, lang: Lang, svc: Svc, principal: Visitor, done: str = "") -> Response:
    if principal is None and unfinished_step(request) != "enrol":
        return redirect(f"/{lang}/login")
    return await factors_page(request, lang, svc, must_enrol=principal is None, done=done)


@router.post(f"/{{lang}}{SETUP}/begin")
async def begin(request: Request, lang: Lang, svc: Svc, csrf: CsrfChecked,
                _: Annotated[EmptyForm, Form()]) -> Response:
    if not csrf:
        return redirect(f"/{lang}{SETUP}")
    try:
        started = await svc.identity.BeginTotpEnrolment(identity.BeginTotpEnrolmentRequest(), **svc.as_session())
    except grpc.aio.AioRpcError as error:
        if failure_of(error).reason.startswith("SESSION"):
            return redirect(f"/{lang}/login")
        return await _refused(request, lang, svc, error)  # e.g. a factor to give again first
    return await render(request, lang, "factor_setup.html", title_key="factor.setup_title",
                        qr=qr_svg(started.otpauth_uri), secret=grouped(started.secret), scanned=False)


@router.post(f"/{{lang}}{SETUP}/confirm")
async def confirm(request: Request, lang: Lang, svc: Svc, csrf: CsrfChecked,
                  typed: Annotated[CodeForm, Form()]) -> Response:
    if not csrf:
        return await render(request, lang, "factor_setup.html", status=403, title_key="factor.setup_title",
                            form=csrf_failed(lang, {}), scanned=True)
    try:
        reply = await svc.identity.ConfirmTotpEnrolment(identity.ConfirmTotpEnrolmentRequest(code=typed.code),
                                                        **svc.as_session())
    except grpc.aio.AioRpcError as error:
        if failure_of(error).reason in ("SECOND_FACTOR_NOT_STARTED", "SESSION_INVALID", "SESSION_REQUIRED"):
            return redirect(f"/{lang}{SETUP}")
        # The QR code is not shown again (the secret never comes back): the app has it already.
        return await render(request, lang, "factor_setup.html", status=400, title_key="factor.setup_title",
                            form=failure_form(lang, error, {}, {"code"}), scanned=True)
    response = await render(request, lang, "recovery_codes.html", title_key="factor.codes_title",
                            codes=list(reply.recovery_codes), next_url=after_login(lang, reply.principal))
    set_private_cookie(response, SESSION_COOKIE, reply.session_token, SESSION_SECONDS)
    return response


@router.post(f"/{{lang}}{SETUP}/recovery-codes")
async def regenerate(request: Request, lang: Lang, svc: Svc, csrf: CsrfChecked,
                     _: Annotated[EmptyForm, Form()]) -> Response:
    if not csrf:
        return redirect(f"/{lang}{SETUP}")
    try:
        reply = await svc.identity.RegenerateRecoveryCodes(identity.RegenerateRecoveryCodesRequest(),
                                                           **svc.as_session())
    except grpc.aio.AioRpcError as error:
        return await _refused(request, lang, svc, error)
    return await render(request, lang, "recovery_codes.html", title_key="factor.codes_title",
                        codes=list(reply.recovery_codes), next_url=f"/{lang}{SETUP}")


@router.post(f"/{{lang}}{SETUP}/remove")
async def remove(request: Request, lang: Lang, svc: Svc, csrf: CsrfChecked,
                 _: Annotated[EmptyForm, Form()]) -> Response:
    if not csrf:
        return redirect(f"/{lang}{SETUP}")
    try:
        await svc.identity.RemoveSecondFactor(identity.RemoveSecondFactorRequest(
            kind=identity_pb.SECOND_FACTOR_KIND_TOTP), **svc.as_session())
    except grpc.aio.AioRpcError as error:
        return await _refused(request, lang, svc, error)
    return redirect(f"/{lang}{SETUP}?done=removed")


async def _refused(request: Request, lang: str, svc: Svc, error: grpc.aio.AioRpcError) -> Response:
    """The factors page again, with the service's reason in the summary."""
    return await factors_page(request, lang, svc, form=failure_form(lang, error, {}, set()), status=400)


async def factors_page(request: Request, lang: str, svc: Svc, *, form: FormState | None = None, status: int = 200,
                        must_enrol: bool = False, done: str = "") -> Response:
    """The holder's factors as identity tells them (a session it no longer honours: log in again)."""
    try:
        factors = await svc.identity.GetSecondFactors(identity.GetSecondFactorsRequest(), **svc.as_session())
    except grpc.aio.AioRpcError:
        return redirect(f"/{lang}/login")
    return await render(request, lang, "factors.html", status=status, title_key="factor.title", factors=factors,
                        form=form, enrolled=identity_pb.SECOND_FACTOR_KIND_TOTP in factors.enrolled,
                        has_factor=bool({identity_pb.SECOND_FACTOR_KIND_TOTP, identity_pb.SECOND_FACTOR_KIND_PASSKEY}
                                        & set(factors.enrolled)),
                        must_enrol=must_enrol, done=done, blank=FormState())
