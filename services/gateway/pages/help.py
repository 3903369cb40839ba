"""The help catalogue and its articles."""
from __future__ import annotations

from typing import Any

import grpc
from fastapi import APIRouter, Request
from fastapi.responses import Response
from portal.support.v1 import help_pb2
from portal.support.v1 import support_service_pb2 as support

from kit.client import failure_of

from gateway.dependencies import Lang, Svc
from gateway.i18n import format_date, translate
from gateway.markdown import render_markdown
from gateway.pages.rendering import message, render

router = APIRouter()


@router.get("/{lang}/help")
async def help_index(request: Request, lang: Lang, svc: Svc) -> Response:
    topics = (await svc.support.ListHelpTopics(support.ListHelpTopicsRequest(language=lang), **svc.call())).topics
    sections: dict[str, list[Any]] = {}
    for topic in topics:
        sections.setdefault(help_pb2.HelpSection.Name(topic.section).removeprefix("HELP_SECTION_"), []).append(topic)
    return await render(request, lang, "help.html", title_key="help.title", sections=sections)


@router.get("/{lang}/help/{article_id}")
async def help_article(request: Request, lang: Lang, svc: Svc, article_id: str) -> Response:
    try:
        article = (await svc.support.GetHelpArticle(support.GetHelpArticleRequest(
            id=article_id[:100], language=lang), **svc.call())).article
    except grpc.aio.AioRpcError as error:
        if failure_of(error).code in (grpc.StatusCode.NOT_FOUND, grpc.StatusCode.INVALID_ARGUMENT):
            return await message(request, lang, "error.title", translate(lang, "error.not_found"), status=404)
        raise
    topics = (await svc.support.ListHelpTopics(support.ListHelpTopicsRequest(language=lang), **svc.call())).topics
    titles = {t.id: t.title for t in topics}
    related = [(r, titles.get(r, r)) for r in article.related_topic_ids]
    return await render(request, lang, "help_article.html", title_key="help.title", article=article,
                        body=render_markdown(article.body), related=related,
                        updated=format_date(article.update_time, lang))
