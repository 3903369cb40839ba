"""The provider's rules (identity/domain/oidc.py), as pure functions: what a registration must hold, PKCE S256 (the
RFC 7636 appendix B vector), which scopes a client gets, when a live session is not enough, what tokens say."""
from __future__ import annotations

import datetime as dt

import pytest

from identity.domain.oidc import (
    AuthMethod,
    Client,
    OAuthError,
    Person,
    check_pkce,
    check_registration,
    login_needed,
    person_claims,
    session_id,
    uri_problem,
    verifier_matches,
)

NOW = dt.datetime(2026, 12, 6, 12, 0, tzinfo=dt.UTC)


def client(**changes: object) -> Client:
    values: dict[str, object] = dict(client_id="quality", name="Qualité", auth_method=AuthMethod.CLIENT_SECRET_BASIC,
                                     redirect_uris=("https://quality.example/callback",))
    return Client(**{**values, **changes})  # type: ignore[arg-type]


def test_a_registration_needs_an_id_a_name_exact_uris_and_keys_for_private_key_jwt() -> None:
    assert check_registration(client(), production=True) == []
    problems = dict(check_registration(client(client_id="Q", name="", redirect_uris=(), scopes=("openid", "admin"),
                                              auth_method=AuthMethod.PRIVATE_KEY_JWT), production=True))
    assert set(problems) == {"client_id", "name", "redirect_uris", "jwks", "scopes"}
    assert dict(check_registration(client(redirect_uris=("https://q.example/cb#frag",)), production=False))


@pytest.mark.parametrize("uri, production, refused", [
    ("https://q.example/cb", True, False),
    ("http://q.example/cb", True, True),  # an application's callback in clear text, in production
    ("http://127.0.0.1:8765/cb", True, False),  # a native application's loopback (RFC 8252)
    ("http://q.example/cb", False, False),
    ("javascript:alert(1)", False, True),
    ("https:///cb", False, True),
    ("/relative", False, True),
])
def test_redirect_uris_are_absolute_http_without_fragment(uri: str, production: bool, refused: bool) -> None:
    assert (uri_problem(uri, production=production) is not None) == refused


def test_a_back_channel_logout_uri_is_never_identity_s_own_loopback_in_production() -> None:
    assert uri_problem("http://127.0.0.1:8765/cb", production=True) is None  # a native app's redirect
    assert uri_problem("http://127.0.0.1:9102/metrics", production=True, loopback=False) is not None
    assert uri_problem("https://localhost/backchannel", production=True, loopback=False) is not None
    assert uri_problem("https://quality.example/backchannel", production=True, loopback=False) is None
    assert dict(check_registration(client(backchannel_logout_uri="http://127.0.0.1:8080/x"), production=True))


def test_pkce_is_s256_with_a_proper_challenge_and_the_rfc_vector_matches() -> None:
    verifier, challenge = "dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk", "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM"
    check_pkce(challenge, "S256")
    assert verifier_matches(verifier, challenge)
    assert not verifier_matches(verifier[:-1] + "l", challenge)
    assert not verifier_matches("short", challenge)  # RFC 7636 §4.1: 43 to 128 characters
    for bad_challenge, method in (("", "S256"), (challenge, "plain"), (challenge, ""), ("x" * 43 + "=", "S256")):
        with pytest.raises(OAuthError) as refused:
            check_pkce(bad_challenge, method)
        assert refused.value.error == "invalid_request" and refused.value.redirectable


def test_scopes_need_openid_and_keep_only_what_the_client_may_have() -> None:
    assert client().granted_scopes("openid email profile admin") == "openid profile email"
    assert client(scopes=("openid",)).granted_scopes("openid email") == "openid"
    with pytest.raises(OAuthError, match="invalid_scope"):
        client().granted_scopes("profile email")


def test_a_live_session_is_not_enough_for_prompt_login_an_old_login_or_an_earlier_demand() -> None:
    opened = NOW - dt.timedelta(minutes=10)
    assert not login_needed(opened, NOW, prompt="", max_age=None, login_after=None)
    assert login_needed(opened, NOW, prompt="login", max_age=None, login_after=None)
    assert login_needed(opened, NOW, prompt="", max_age=300, login_after=None)
    assert not login_needed(opened, NOW, prompt="", max_age=900, login_after=None)
    assert login_needed(opened, NOW, prompt="", max_age=None, login_after=int(NOW.timestamp()) - 60)
    assert not login_needed(NOW, NOW, prompt="", max_age=None, login_after=int(NOW.timestamp()) - 60)


def test_claims_follow_the_scopes_and_a_sid_says_nothing_of_the_session_token() -> None:
    person = Person("sub-1", "V123456", "ABC123", ("ADMINISTRATOR",), "Ada Lovelace", "ada@example.com")
    assert person_claims(person, "openid") == {"sub": "sub-1", "preferred_username": "V123456", "cofor": "ABC123",
                                               "roles": ["ADMINISTRATOR"]}
    assert person_claims(person, "openid profile email")["email"] == "ada@example.com"
    digest = bytes(range(32))
    assert session_id(digest) == session_id(digest) and len(session_id(digest)) == 32
    assert session_id(digest) not in (digest.hex(), digest.hex()[:32]) and session_id(bytes(32)) != session_id(digest)
