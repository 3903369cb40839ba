"""The signatory's acceptance page, on the gateway in process with a stand-in for cofor: what a valid link shows
(company, COFOR, nominee, the full text of the version cofor has in force, the link's expiry in Paris time), and its
abuse cases — a forged, used or expired link names nobody, nothing is accepted without the box, a text that changed
since the page was shown is refused with the new text, and whatever the company file holds is shown as text. The
same in a real browser on the real services: tests/browser/test_terms_page.py."""
from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any

import grpc
import httpx
from google.protobuf.timestamp_pb2 import Timestamp
from portal.cofor.v1 import cofor_service_pb2 as cofor
from portal.cofor.v1 import supplier_pb2 as cofor_pb

from kit.errors import DomainError, FailedPrecondition, NotFound, to_status_proto

from gateway import gtu
from gateway.app import create_app
from gateway.security import CSRF_COOKIE
from gateway.settings import GatewaySettings

TOKEN = "a-random-gateway-token-of-enough-length-1234567890"
LINK = "a-valid-acceptance-token-0123456789abcdef"
CSRF = "csrf-token-of-this-visitor"
EXPIRES = Timestamp(seconds=1796116800)  # 2026-12-01 09:20 UTC: 10:20 in Paris


def rpc_error(error: DomainError) -> grpc.aio.AioRpcError:
    """The error a real stub raises for ``error`` (code, message and AIP-193 details in the trailers)."""
    status = to_status_proto(error, "cofor.portal")
    return grpc.aio.AioRpcError(error.code, grpc.aio.Metadata(), grpc.aio.Metadata(
        ("grpc-status-details-bin", status.SerializeToString())), details=status.message)


@dataclass
class FakeCofor:
    """DescribeTermsAcceptance and AcceptTerms as cofor answers them, for one link."""
    state: str = "VALID"
    legal_name: str = "Forges de Lorraine"
    in_force: str = gtu.in_force().id
    accepted: list[str] = field(default_factory=list)

    async def DescribeTermsAcceptance(self, request: cofor.DescribeTermsAcceptanceRequest,
                                      **_: Any) -> cofor.DescribeTermsAcceptanceResponse:
        if request.acceptance_token != LINK:
            raise rpc_error(NotFound("ACCEPTANCE_TOKEN_NOT_FOUND", "this acceptance link does not exist"))
        valid = self.state == "VALID"
        nominee = cofor_pb.Contact(given_name="Paul", family_name="Durand", email="paul.durand@forges.example",
                                   job_title="IT manager") if valid else None
        return cofor.DescribeTermsAcceptanceResponse(
            legal_name=self.legal_name, cofor="12DFPA  01", signatory_name="Claire Martin", language="fr",
            terms_version=self.in_force, link_valid=valid, expire_time=EXPIRES, administrator=nominee,
            link_state=cofor.TermsLinkState.Value(f"TERMS_LINK_STATE_{self.state}"),
            requested_from="203.0.113.7" if valid else "")

    async def AcceptTerms(self, request: cofor.AcceptTermsRequest, **_: Any) -> cofor.AcceptTermsResponse:
        if request.acceptance_token != LINK:
            raise rpc_error(NotFound("ACCEPTANCE_TOKEN_NOT_FOUND", "this acceptance link does not exist"))
        if self.state != "VALID":
            raise rpc_error(FailedPrecondition(f"ACCEPTANCE_TOKEN_{self.state}", "this link is no longer valid"))
        if request.terms_version != self.in_force:
            raise rpc_error(FailedPrecondition("TERMS_VERSION_MISMATCH", "these terms are no longer the ones in force",
                                               metadata={"termsVersion": self.in_force}))
        self.accepted.append(request.terms_version)
        return cofor.AcceptTermsResponse(cofor="12DFPA  01", legal_name=self.legal_name)


def gateway(fake: FakeCofor) -> httpx.AsyncClient:
    app = create_app(GatewaySettings(environment="test", service_token=TOKEN))
    backends = app.state.backends
    backends.cofor, backends.identity, backends.oidc, backends.support = fake, None, None, None  # only cofor is asked
    return httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="https://test",
                             cookies={CSRF_COOKIE: CSRF})


def accept(version: str = gtu.in_force().id, ticked: bool = True, token: str = LINK) -> dict[str, str]:
    return {"csrf_token": CSRF, "token": token, "terms_version": version, **({"accept": "1"} if ticked else {})}


def main(page: httpx.Response) -> str:
    return page.text.split('<main id="main"')[1].split("</main>")[0]


async def test_a_valid_link_shows_the_company_the_nominee_the_full_text_and_a_required_box() -> None:
    async with gateway(FakeCofor()) as client:
        for lang, expiry, version in (
                ("fr", "1er décembre 2026 à 10:20 (heure d’Europe centrale)", "Version 2026-12 du 1er décembre 2026"),
                ("en", "December 1, 2026 at 10:20 AM (Central European Time)", "Version 2026-12 of December 1, 2026")):
            page = await client.get(f"/{lang}/access/terms", params={"token": LINK})
            assert page.status_code == 200
            for shown in ('id="terms-company">Forges de Lorraine<', 'id="terms-cofor">12DFPA  01<',
                          'id="terms-nominee-name">Paul Durand<',
                          'id="terms-nominee-email">paul.durand@forges.example<', f'id="terms-expires">{expiry}<',
                          f'id="terms-version">{version}<', 'href="#article-14"',
                          'name="terms_version" value="2026-12"', 'id="print-hint"'):
                assert shown in page.text, (lang, shown)
            assert re.search(r'<input type="checkbox" id="f-accept" name="accept" value="1" required', page.text)
            assert str(gtu.text("2026-12", lang).html) in page.text  # type: ignore[union-attr]


async def test_a_forged_used_or_expired_link_names_neither_the_company_nor_the_nominee() -> None:
    for state, token, status in (("VALID", "forged-" + "x" * 40, 404), ("USED", LINK, 410), ("EXPIRED", LINK, 410),
                                 ("VOIDED", LINK, 410)):
        async with gateway(FakeCofor(state=state)) as client:
            for page in (await client.get("/en/access/terms", params={"token": token}),
                         await client.post("/en/access/terms", data=accept(token=token))):
                assert page.status_code == status, state
                assert "This link is no longer valid" in page.text
                for secret in ("Forges", "12DFPA", "Durand", "Claire", "203.0.113.7", "Article 1"):
                    assert secret not in main(page), (state, secret)


async def test_nothing_is_accepted_without_the_box_and_the_refusal_is_next_to_it() -> None:
    fake = FakeCofor()
    async with gateway(fake) as client:
        page = await client.post("/en/access/terms", data=accept(ticked=False))
    assert page.status_code == 400 and fake.accepted == []
    assert re.search(r'id="f-accept"[^>]* aria-invalid="true" aria-describedby="f-accept-error"', page.text)
    assert '<p class="error" id="f-accept-error"><span>Tick this box' in page.text
    assert '<a href="#f-accept">Tick this box' in page.text  # the summary leads to it
    assert 'id="terms-company">Forges de Lorraine<' in page.text  # the same page, to read and tick


async def test_terms_changed_since_the_page_was_shown_are_refused_and_the_new_text_shown() -> None:
    fake = FakeCofor()
    async with gateway(fake) as client:
        page = await client.post("/fr/access/terms", data=accept(version="2026-01"))
    assert page.status_code == 409 and fake.accepted == []
    assert "ont changé pendant que cette page était ouverte" in main(page)
    assert 'data-version="2026-12"' in page.text and 'name="terms_version" value="2026-12"' in page.text
    assert str(gtu.text("2026-12", "fr").html) in page.text  # type: ignore[union-attr]
    assert 'checked' not in page.text.split('id="f-accept"')[1].split(">")[0]  # to be ticked again, for this text
    async with gateway(fake) as client:
        done = await client.post("/fr/access/terms", data=accept())
    assert done.status_code == 200 and "Conditions acceptées" in done.text and fake.accepted == ["2026-12"]


async def test_a_version_the_gateway_cannot_show_is_never_offered_for_acceptance() -> None:
    async with gateway(FakeCofor(in_force="2099-01")) as client:
        page = await client.get("/en/access/terms", params={"token": LINK})
    assert page.status_code == 503 and "<form" not in main(page)


async def test_what_the_company_file_holds_is_shown_as_text() -> None:
    async with gateway(FakeCofor(legal_name='<script>alert(1)</script> & "Co"')) as client:
        page = await client.get("/en/access/terms", params={"token": LINK})
    assert "<script>alert" not in page.text
    assert 'id="terms-company">&lt;script&gt;alert(1)&lt;/script&gt; &amp; &#34;Co&#34;<' in page.text


async def test_a_forged_form_without_its_csrf_token_accepts_nothing() -> None:
    fake = FakeCofor()
    async with gateway(fake) as client:
        page = await client.post("/en/access/terms", data={**accept(), "csrf_token": "another"})
    assert page.status_code == 403 and fake.accepted == []
