"""Page tokens are opaque but not trusted: one edited by hand is bad input on `page_token`, never a crash below."""
from __future__ import annotations

import base64
import json

import pytest

from kit.errors import InvalidArgument
from kit.paging import page_of


def forged(after: object, **filters: object) -> str:
    digest = page_of(0, "", **filters).filters_digest
    raw = json.dumps({"a": after, "f": digest}).encode()
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def test_a_token_the_service_made_gives_back_its_key() -> None:
    token = page_of(2, "", q="x").next_token(["Durand", "Paul", "V123456"], 2)
    assert page_of(2, token, q="x").key(str, str, str) == ["Durand", "Paul", "V123456"]
    assert page_of(2, "", q="x").key(str, str, str) is None


@pytest.mark.parametrize("after", [["Durand", "Paul"], ["a", "b", 3], "V123456", [["x"], "y", "z"], [True, "b", "c"]])
def test_a_key_of_another_shape_is_refused_on_page_token(after: object) -> None:
    with pytest.raises(InvalidArgument) as refused:
        page_of(2, forged(after, q="x"), q="x").key(str, str, str)
    assert refused.value.violations[0].field == "page_token"
