"""The provider's signing keys and the tokens they sign (joserfc: JWS, JWK, JWT; nothing hand-written).

Keys live in the database, the private half sealed with FACTOR_SECRET_KEY. Each process keeps them for a minute
and reads them again at once when a token names a key it does not know (another replica rotated), at most every
few seconds. The newest key whose time has come signs; every published key verifies."""
from __future__ import annotations

import datetime as dt
import json
import time
from collections.abc import Callable
from typing import Any

from joserfc import jwt
from joserfc.errors import JoseError
from joserfc.jwk import ECKey, RSAKey
from joserfc.jws import extract_compact

from identity.adapters.factor_box import FactorBox
from identity.service_layer.unit_of_work import IdentityUnitOfWork

ALGORITHMS = ("ES256", "RS256")
_RELOAD_SECONDS = 60.0
_UNKNOWN_KID_RELOAD_SECONDS = 5.0


def new_key(alg: str) -> ECKey | RSAKey:
    if alg == "RS256":
        return RSAKey.generate_key(2048, private=True, auto_kid=True)
    return ECKey.generate_key("P-256", private=True, auto_kid=True)


class SigningKeys:
    def __init__(self, uow: Callable[..., IdentityUnitOfWork], box: FactorBox, clock: Callable[[], dt.datetime],
                 alg: str = "ES256") -> None:
        self.uow, self.box, self.clock, self.alg = uow, box, clock, alg
        self._rows: list[dict[str, Any]] = []
        self._private: dict[str, ECKey | RSAKey] = {}
        # kid → (public key, its algorithm, when it stops verifying): a cached key stops on time
        self._keys: dict[str, tuple[ECKey | RSAKey, str, dt.datetime | None]] = {}
        self._loaded = -1e9

    async def _load(self, *, force: bool = False) -> None:
        age = time.monotonic() - self._loaded
        if age < (_UNKNOWN_KID_RELOAD_SECONDS if force else _RELOAD_SECONDS):
            return
        async with self.uow(readonly=True) as uow:
            rows = await uow.oidc.keys(self.clock())
        if not rows:  # the provider's first key; replicas starting together may each add one: all are published
            await self._add_key(retire_others=None)
            return
        self._rows = rows
        self._keys = {r["kid"]: (_key_class(r["alg"]).import_key(r["public_jwk"]), r["alg"], r["expires_at"])
                      for r in rows}
        self._loaded = time.monotonic()

    def _private_key(self, row: dict[str, Any]) -> ECKey | RSAKey:
        kid = row["kid"]
        if kid not in self._private:
            opened = self.box.open(row["private_sealed"])
            if opened is None:
                raise RuntimeError(f"signing key {kid} was sealed with another FACTOR_SECRET_KEY")
            data = json.loads(opened)
            self._private[kid] = _key_class(row["alg"]).import_key(data)
        return self._private[kid]

    async def sign(self, claims: dict[str, Any], typ: str) -> str:
        await self._load()
        now = self.clock()
        live = [r for r in self._rows if r["expires_at"] is None or r["expires_at"] > now] or self._rows
        row = next((r for r in live if r["active_from"] <= now), live[-1])
        header = {"alg": row["alg"], "kid": row["kid"], "typ": typ}
        return jwt.encode(header, claims, self._private_key(row), algorithms=[row["alg"]])

    async def verify(self, token: str, typ: str) -> dict[str, Any] | None:
        """The claims of a token this provider signed with a published key, in that key's algorithm, with the
        ``typ`` given (expiry and issuer are the caller's to check). None for anything else: a forged, altered or
        unsigned token (``alg`` none is never accepted), a key no longer published."""
        await self._load()
        try:
            header = extract_compact(token.encode()).protected
            kid = str(header.get("kid", ""))
            if kid not in self._keys:
                await self._load(force=True)  # rotated by another replica meanwhile?
            key, alg, retired = self._keys[kid]
            if str(header.get("typ", "")).lower() != typ.lower() or header.get("alg") != alg or (
                    retired is not None and retired <= self.clock()):
                return None
            return dict(jwt.decode(token, key, algorithms=[alg]).claims)
        except (JoseError, KeyError, ValueError, TypeError, UnicodeError):
            return None

    async def jwks(self) -> dict[str, Any]:
        await self._load()
        now = self.clock()
        return {"keys": [r["public_jwk"] for r in self._rows if r["expires_at"] is None or r["expires_at"] > now]}

    async def rotate(self, *, lead: dt.timedelta, overlap: dt.timedelta) -> str:
        """A new key, published now and signing after ``lead`` (applications caching the JWKS see it first); the
        others stay published until ``overlap`` after that, so every token they signed can still be checked."""
        return await self._add_key(lead=lead, retire_others=lead + overlap)

    async def _add_key(self, *, lead: dt.timedelta = dt.timedelta(0),
                       retire_others: dt.timedelta | None) -> str:
        now = self.clock()
        key = new_key(self.alg)
        public = {**key.as_dict(private=False), "use": "sig", "alg": self.alg}
        async with self.uow() as uow:
            await uow.oidc.add_key(key.kid or "", self.alg, self.box.seal(json.dumps(key.as_dict(private=True))),
                                   public, now, now + lead)
            if retire_others is not None:
                await uow.oidc.retire_keys_but(key.kid or "", now + retire_others)
            await uow.commit()
        self._loaded = -1e9
        await self._load()
        return key.kid or ""


def _key_class(alg: str) -> type[ECKey] | type[RSAKey]:
    return RSAKey if alg == "RS256" else ECKey
