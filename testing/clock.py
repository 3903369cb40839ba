"""A clock tests can move forward: ``clock.offset = timedelta(hours=73)``."""
from __future__ import annotations

import datetime as dt


class Clock:
    def __init__(self) -> None:
        self.offset = dt.timedelta()

    def __call__(self) -> dt.datetime:
        return dt.datetime.now(dt.UTC) + self.offset
