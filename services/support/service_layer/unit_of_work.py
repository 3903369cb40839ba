"""The support unit of work."""
from __future__ import annotations

from kit.db import UnitOfWork


class SupportUnitOfWork(UnitOfWork):
    producer = "support"
