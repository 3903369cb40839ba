"""argon2id hashing off the event loop: argon2-cffi releases the GIL, so a pool sized to the cores hashes in
parallel while the loop keeps serving."""
from __future__ import annotations

import asyncio
import os
import secrets
from concurrent.futures import ThreadPoolExecutor

from argon2 import PasswordHasher, Type
from argon2.exceptions import InvalidHashError, VerificationError, VerifyMismatchError


class Hasher:
    def __init__(self, *, memory_kib: int = 19_456, time_cost: int = 2, parallelism: int = 1,
                 workers: int | None = None) -> None:
        self._ph = PasswordHasher(time_cost=time_cost, memory_cost=memory_kib, parallelism=parallelism,
                                  hash_len=32, salt_len=16, type=Type.ID)
        self._pool = ThreadPoolExecutor(max_workers=workers or os.cpu_count() or 2, thread_name_prefix="argon2")
        # A real hash of a random secret: checked against when there is no account, so the time is the same.
        self.dummy_hash = self._ph.hash(secrets.token_urlsafe(24))

    async def hash(self, password: str) -> str:
        return await asyncio.get_running_loop().run_in_executor(self._pool, self._ph.hash, password)

    def _verify(self, encoded: str, password: str) -> bool:
        try:
            return self._ph.verify(encoded, password)
        except (VerifyMismatchError, VerificationError, InvalidHashError):
            return False

    async def verify(self, encoded: str | None, password: str) -> bool:
        """False for a wrong password; for ``None`` the dummy hash is checked, so no timing tells them apart."""
        ok = await asyncio.get_running_loop().run_in_executor(self._pool, self._verify,
                                                              encoded or self.dummy_hash, password)
        return ok and encoded is not None

    def needs_rehash(self, encoded: str) -> bool:
        try:
            return self._ph.check_needs_rehash(encoded)
        except InvalidHashError:
            return True
