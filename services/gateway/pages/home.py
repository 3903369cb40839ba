"""The home, about and blocked-account pages, and the redirects to them."""
from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.responses import RedirectResponse, Response

from gateway.dependencies import Lang
from gateway.i18n import preferred_language
from gateway.pages.rendering import render

router = APIRouter()


@router.get("/")
async def root(request: Request) -> RedirectResponse:
    """The home in the browser's language (Accept-Language), French when it prefers neither."""
    lang = preferred_language(request.headers.get("accept-language", ""))
    return RedirectResponse(f"/{lang}/", status_code=302, headers={"Vary": "Accept-Language"})


@router.get("/{lang}")
async def bare(lang: str) -> Response:
    return RedirectResponse(f"/{lang}/", status_code=302)


@router.get("/{lang}/")
async def home(request: Request, lang: Lang) -> Response:
    return await render(request, lang, "home.html", title_key="site.name")


@router.get("/{lang}/about")
async def about(request: Request, lang: Lang) -> Response:
    return await render(request, lang, "about.html", title_key="about.title")


@router.get("/{lang}/blocked")
async def blocked(request: Request, lang: Lang) -> Response:
    return await render(request, lang, "blocked.html", title_key="blocked.title")
