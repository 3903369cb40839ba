"""The development mailbox's reading of the sink's folder, and where it is mounted: only in development (never in
production or test deployments). Its pages in a real browser: tests/browser/test_dev_mailbox.py."""
from __future__ import annotations

from email.message import EmailMessage
from pathlib import Path

import httpx
import pytest

from gateway.app import create_app
from gateway.dev_mailbox import linked, read_mail, summaries
from gateway.settings import GatewaySettings

TOKEN = "a-random-gateway-token-of-enough-length-1234567890"


def store(directory: Path, name: str, to: str, subject: str, text: str) -> None:
    message = EmailMessage()
    message["From"], message["To"], message["Subject"] = "portal@b2b-portal.example", to, subject
    message.set_content(text)
    directory.mkdir(parents=True, exist_ok=True)
    (directory / f"{name}.eml").write_bytes(bytes(message))


def test_only_http_and_https_addresses_become_links() -> None:
    assert linked("See https://portal.test/fr/access?x=1&y=2. Then javascript:alert(1) or data:text/html,x") == [
        ("text", "See "), ("link", "https://portal.test/fr/access?x=1&y=2"),
        ("text", ". Then javascript:alert(1) or data:text/html,x")]
    assert linked('(http://a.example/"onmouseover=alert(1)") <https://b.example/<script>') == [
        ("text", "("), ("link", "http://a.example/"), ("text", '"onmouseover=alert(1)") <'),
        ("link", "https://b.example/"), ("text", "<script>")]
    assert linked("https:// nothing") == [("text", "https:// nothing")]


def test_mails_newest_first_filtered_by_recipient_and_never_a_file_outside(tmp_path: Path) -> None:
    store(tmp_path, "20260101T100000-000001", "Anne <anne@acme.example>", "one", "1")
    store(tmp_path, "20260101T100000-000002", "paul@other.example", "two", "2")
    (tmp_path / "notes.eml").write_text("Subject: not a sink file\n\nx")
    assert [m.subject for m in summaries(tmp_path)] == ["two", "one"]
    assert [m.to for m in summaries(tmp_path, " ACME.example ")] == ["anne@acme.example"]
    assert read_mail(tmp_path, "20260101T100000-000002") is not None
    for bad in ("notes", "../20260101T100000-000002", "20260101T100000-000009", ""):
        assert read_mail(tmp_path, bad) is None


@pytest.mark.parametrize("environment", ["production", "test"])
async def test_the_mailbox_exists_in_development_only(environment: str, tmp_path: Path,
                                                      monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PORTAL_VAR_DIR", str(tmp_path))
    store(tmp_path / "mail", "20260101T100000-000001", "anne@acme.example", "<script>x</script>", "secret link")
    paths = {"/dev/mailbox", "/dev/mailbox/20260101T100000-000001"}
    for env, expected in ((environment, 404), ("development", 200)):
        app = create_app(GatewaySettings(environment=env, service_token=TOKEN))
        assert not ({getattr(r, "path", "") for r in app.routes} & paths) == (expected == 404)
        async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://test") as client:
            for path in paths:
                reply = await client.get(path)
                assert reply.status_code == expected, (env, path)
                assert ("secret link" in reply.text) == (expected == 200 and path != "/dev/mailbox")
                assert "<script>x" not in reply.text
