"""One digest for secrets kept at rest: tokens and codes are stored and looked up by their SHA-256, never in clear."""
from __future__ import annotations

import hashlib


def token_digest(token: str) -> bytes:
    return hashlib.sha256(token.encode()).digest()
