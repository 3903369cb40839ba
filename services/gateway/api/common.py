"""What every API route shares: its documented errors (the gateway's own body, 400 for invalid input) and a
response model that sends only the fields the reply has."""
from __future__ import annotations

from typing import Any

from fastapi.dependencies.models import Dependant
from fastapi.dependencies.utils import get_flat_params
from fastapi.routing import APIRoute

from gateway.dependencies import Services
from gateway.errors import ErrorBody

_ERRORS = {
    400: "Invalid input: the gateway or the service refuses a value (`field_violations` names each field).",
    401: "No live session (`SESSION_REQUIRED`, an expired or revoked one) or wrong credentials.",
    403: "The CSRF token is missing or wrong (`CSRF_TOKEN_INVALID`), or the caller may not do this.",
    404: "Nothing with this name, or nothing this caller may see.",
    409: "It conflicts with the current state (it already exists, or changed meanwhile).",
    411: "A chunked body: send it with a Content-Length.",
    413: "The body is larger than the gateway accepts.",
    429: "Too many requests: the `Retry-After` header gives the seconds to wait.",
    "default": "Any other error in the same shape, e.g. 503 when a service is unavailable.",
}
_RETRY_AFTER = {"Retry-After": {"description": "Seconds to wait", "schema": {"type": "integer"}}}


def errors(*statuses: int | str) -> dict[int | str, dict[str, Any]]:
    """The OpenAPI ``responses`` of these error statuses, each with the API's error body."""
    return {status: {"model": ErrorBody, "description": _ERRORS[status],
                     **({"headers": _RETRY_AFTER} if status == 429 else {})} for status in statuses}


class ApiRoute(APIRoute):
    """An API route: replies leave out the fields they do not set (proto3 JSON), and the document lists the
    errors every route can answer (400, 429, any other) plus, on unsafe methods, the CSRF and size refusals."""

    def __init__(self, path: str, endpoint: Any, **kwargs: Any) -> None:
        unsafe = set(kwargs.get("methods") or ()) & {"POST", "PUT", "PATCH", "DELETE"}
        common = errors(400, 429, "default") | (errors(403, 411, 413) if unsafe else {})
        kwargs["responses"] = common | dict(kwargs.get("responses") or {})
        kwargs["response_model_exclude_unset"] = True
        super().__init__(path, endpoint, **kwargs)
        if not _takes_input(self):  # nothing to refuse (GET /csrf)
            self.responses.pop(400, None)


def _takes_input(route: APIRoute) -> bool:
    """Whether the route reads anything from the request or calls a service (which may refuse it)."""
    return bool(route.body_field or get_flat_params(route.dependant) or _calls_services(route.dependant))


def _calls_services(dependant: Dependant) -> bool:
    return any(d.call is Services or _calls_services(d) for d in dependant.dependencies)
