"""The gateway's OpenAPI document says exactly what the API does: one operation per console action, typed
replies, the error body and statuses it really answers (400, never FastAPI's 422), and a 405 names every method
the path serves. No service runs here: the document and the routing are the gateway's own."""
from __future__ import annotations

import io
from typing import Any

import httpx
import pytest
from portal.identity.v1 import account_pb2 as identity_pb
from portal.identity.v1 import identity_service_pb2 as identity
from pydantic import ValidationError
from starlette.datastructures import UploadFile

from gateway.api import CONSOLE_ACTIONS
from gateway.app import create_app
from gateway.forms import ContactForm, CreateUserForm, LoginForm, PasswordForm
from gateway.replies import as_json, reply
from gateway.settings import GatewaySettings

CSRF = {"cookie": "__Host-portal_csrf=token", "x-csrf-token": "token"}


@pytest.fixture(scope="module")
def spec() -> dict[str, Any]:
    return create_app(GatewaySettings()).openapi()


def operations(spec: dict[str, Any]) -> list[tuple[str, str, dict[str, Any]]]:
    return [(verb.upper(), path, op) for path, ops in spec["paths"].items() for verb, op in ops.items()]


def test_each_console_action_is_an_operation_of_its_own(spec: dict[str, Any]) -> None:
    assert not [path for path in spec["paths"] if "{action}" in path]
    for action, (method, _) in CONSOLE_ACTIONS.items():
        operation = spec["paths"][f"/api/v1/users/{{identifier}}:{action}"]["post"]
        assert method in operation["summary"]
        assert operation["responses"]["200"]["content"]["application/json"]["schema"] == {
            "$ref": f"#/components/schemas/{method}Response"}
    ids = [op["operationId"] for _, _, op in operations(spec)]
    assert len(ids) == len(set(ids))


def test_every_reply_is_typed_and_every_error_is_the_error_body(spec: dict[str, Any]) -> None:
    assert {"HTTPValidationError", "ValidationError"}.isdisjoint(spec["components"]["schemas"])
    for verb, path, operation in operations(spec):
        responses = operation["responses"]
        assert "422" not in responses, (verb, path)
        assert "$ref" in responses["200"]["content"]["application/json"]["schema"], (verb, path)
        assert {"429", "default"} <= responses.keys() and ("400" in responses) == (path != "/api/v1/csrf")
        for status, answer in responses.items():
            if status != "200":
                assert answer["content"]["application/json"]["schema"] == {"$ref": "#/components/schemas/ErrorBody"}
        if verb != "GET":
            assert {"403", "411", "413"} <= responses.keys(), (verb, path)
    error = spec["components"]["schemas"]["ErrorDetail"]
    assert set(error["required"]) == {"code", "reason", "message", "field_violations", "metadata"}
    assert "Retry-After" in spec["paths"]["/api/v1/session:login"]["post"]["responses"]["429"]["headers"]


def test_session_replies_document_no_session_token(spec: dict[str, Any]) -> None:
    for name in ("LoginReply", "ChangePasswordReply"):
        assert "session_token" not in spec["components"]["schemas"][name]["properties"]


def test_a_reply_model_takes_the_services_json_as_it_is() -> None:
    message = identity.ListUsersResponse(accounts=[identity_pb.Account(
        identifier="V000042", state=identity_pb.ACCOUNT_STATE_BLOCKED, roles=[identity_pb.ROLE_ADMINISTRATOR])])
    message.accounts[0].create_time.seconds = 1_700_000_000
    body = as_json(message)
    model = reply(identity.ListUsersResponse).model_validate(body)
    assert model.model_dump(by_alias=True, exclude_unset=True) == body


async def test_a_405_names_every_method_the_path_serves() -> None:
    transport = httpx.ASGITransport(app=create_app(GatewaySettings()))
    async with httpx.AsyncClient(transport=transport, base_url="https://gateway") as web:
        for method, path, allowed in (("DELETE", "/api/v1/users/V000042", "GET, PATCH"),
                                      ("DELETE", "/api/v1/session", "GET"), ("PUT", "/api/v1/users", "GET, POST"),
                                      ("PUT", "/fr/login", "GET, POST")):
            answer = await web.request(method, path, headers=CSRF)
            assert answer.status_code == 405 and answer.headers["allow"] == allowed, (method, path, answer.headers)
        refused = await web.delete("/api/v1/session", headers=CSRF)
        assert refused.json()["error"]["reason"] == "METHOD_NOT_ALLOWED"


def test_a_page_form_is_the_apis_model_stripped_and_refused_past_its_limits() -> None:
    typed = LoginForm.model_validate({"identifier": f"  {'V' * 40} ", "password": " secret ", "csrf_token": "x"})
    assert typed.identifier == "V" * 40 and typed.password == " secret "  # a password is kept as typed
    assert typed.values() == {"identifier": "V" * 40}  # and never shown again
    with pytest.raises(ValidationError):  # never cut: "en   zzzz" cut to five would be a valid "en"
        CreateUserForm.model_validate({"given_name": "Emma", "language": "en   zzzz"})
    with pytest.raises(ValidationError):  # two passwords differing past the limit never match by being cut
        PasswordForm.model_validate({"new_password": "p" * 1025, "confirm_password": "p" * 1024 + "q"})
    shot = UploadFile(io.BytesIO(b"png"), filename="error.png")
    assert ContactForm.model_validate({"screenshot": shot, "subject": "x" * 300}).screenshot is shot
    assert ContactForm.model_validate({"screenshot": "not a file"}).screenshot is None
    created = CreateUserForm.model_validate({"given_name": "Emma", "administrator": "1"})
    assert created.administrator and created.family_name == "" and created.values()["administrator"] == "1"


async def test_a_page_refuses_a_value_past_its_limit_in_the_pages_language() -> None:
    app = create_app(GatewaySettings())  # its channels open lazily: the refusal comes before any call
    async with app.router.lifespan_context(app), httpx.AsyncClient(
            transport=httpx.ASGITransport(app=app), base_url="https://gateway") as web:
        for lang, words in (("fr", "trop longue"), ("en", "too long")):
            answer = await web.post(f"/{lang}/login", headers={"cookie": CSRF["cookie"]},
                                    data={"identifier": "V" * 41, "password": "x", "csrf_token": "token"})
            assert answer.status_code == 400 and words in answer.text
