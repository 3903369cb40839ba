"""The portal's web pages, rendered on the server in French (default) or English, one module per area.

Each handler calls the same gRPC stubs as the JSON API and reads its form through the API's model
(gateway/forms.py). Forms carry the CSRF token (the ``__Host-portal_csrf`` cookie) in a hidden ``csrf_token``
field, checked by ``rendering.CsrfChecked``; field violations from the services are shown next to their input and
in a summary."""
from __future__ import annotations

from fastapi import APIRouter

from gateway.pages import (
    access,
    account,
    account_request,
    activation,
    company,
    console,
    console_account,
    contact,
    factors,
    help,
    home,
    login,
    passkeys,
    recovery,
    sessions,
    sso,
    terms,
    trail,
)
from gateway.pages.rendering import not_found_page

__all__ = ["not_found_page", "router"]

router = APIRouter(include_in_schema=False)
# sso first: its /oidc/... paths must not be taken for /{lang}/... pages.
for area in (sso, home, access, terms, activation, company, login, factors, passkeys, account, sessions, recovery,
             contact, account_request, help, console, console_account, trail):
    router.include_router(area.router)
