"""AIP-158 paging: page_size defaults and bounds, opaque page tokens tied to the filters they were made for."""
from __future__ import annotations

import base64
import hashlib
import json
from dataclasses import dataclass
from typing import Any

from kit.errors import FieldViolation, InvalidArgument

DEFAULT_PAGE_SIZE = 50
MAX_PAGE_SIZE = 200


@dataclass(frozen=True)
class Page:
    size: int
    after: Any  # the last sort key of the previous page, or None for the first page
    filters_digest: str

    def key(self, *types: type) -> Any:
        """``after`` checked against the shape the service gave it (one value of each of ``types``; one type: the
        value itself): a token edited by hand is INVALID_ARGUMENT, never an error deeper down."""
        if self.after is None:
            return None
        values = self.after if len(types) > 1 else [self.after]
        if not isinstance(values, list) or len(values) != len(types) or not all(
                isinstance(v, t) and not isinstance(v, bool) for v, t in zip(values, types, strict=True)):
            raise InvalidArgument([FieldViolation("page_token", "is not a token this service issued")])
        return self.after

    def next_token(self, last_key: Any, got: int) -> str:
        if got < self.size:
            return ""
        raw = json.dumps({"a": last_key, "f": self.filters_digest}, separators=(",", ":")).encode()
        return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def page_of(page_size: int, page_token: str, **filters: Any) -> Page:
    if page_size < 0:
        raise InvalidArgument([FieldViolation("page_size", "must not be negative")])
    size = min(page_size or DEFAULT_PAGE_SIZE, MAX_PAGE_SIZE)
    digest = hashlib.sha256(json.dumps(filters, sort_keys=True, default=str).encode()).hexdigest()[:16]
    if not page_token:
        return Page(size, None, digest)
    try:
        data = json.loads(base64.urlsafe_b64decode(page_token + "=" * (-len(page_token) % 4)))
        after, token_digest = data["a"], data["f"]
    except (ValueError, KeyError, TypeError):
        raise InvalidArgument([FieldViolation("page_token", "is not a token this service issued")]) from None
    if token_digest != digest:
        raise InvalidArgument([FieldViolation("page_token", "was issued for other filters")])
    return Page(size, after, digest)
