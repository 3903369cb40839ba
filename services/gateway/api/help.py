"""The help catalogue and its articles (SupportService)."""
from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Query
from portal.support.v1 import support_service_pb2 as support

from gateway.api.common import ApiRoute, errors
from gateway.dependencies import Svc
from gateway.replies import as_json, reply

router = APIRouter(route_class=ApiRoute, tags=["help"])
Language = Annotated[str, Query(max_length=5)]


@router.get("/help/topics", summary="The help catalogue (SupportService.ListHelpTopics)",
            response_model=reply(support.ListHelpTopicsResponse))
async def help_topics(svc: Svc, language: Language = "fr") -> dict[str, Any]:
    return as_json(await svc.support.ListHelpTopics(support.ListHelpTopicsRequest(language=language), **svc.call()))


@router.get("/help/articles/{article_id}", summary="One help article (SupportService.GetHelpArticle)",
            response_model=reply(support.GetHelpArticleResponse), responses=errors(404))
async def help_article(article_id: str, svc: Svc, language: Language = "fr") -> dict[str, Any]:
    return as_json(await svc.support.GetHelpArticle(support.GetHelpArticleRequest(
        id=article_id[:100], language=language), **svc.call()))
