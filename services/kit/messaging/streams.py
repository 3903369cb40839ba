"""The four streams, one per producer, created or updated idempotently at start-up."""
from __future__ import annotations

import datetime as dt
from collections.abc import Sequence

from nats.js import JetStreamContext
from nats.js.api import DiscardPolicy, RetentionPolicy, StorageType, StreamConfig
from nats.js.errors import NotFoundError

STREAMS: dict[str, list[str]] = {
    "COFOR": ["cofor.>"],
    "IDENTITY": ["identity.>"],
    "SUPPORT": ["support.>"],
    "NOTIFICATION": ["notification.>"],
}

# Long enough to cover a relay that crashed after publishing and restarts: its re-publish is then dropped.
DUPLICATE_WINDOW = dt.timedelta(minutes=30)
MAX_AGE = dt.timedelta(days=14)


def stream_config(name: str, replicas: int = 1) -> StreamConfig:
    return StreamConfig(
        name=name,
        subjects=STREAMS[name],
        retention=RetentionPolicy.LIMITS,
        storage=StorageType.FILE,
        discard=DiscardPolicy.OLD,
        max_age=MAX_AGE.total_seconds(),
        duplicate_window=DUPLICATE_WINDOW.total_seconds(),
        num_replicas=replicas,
    )


async def ensure_streams(js: JetStreamContext, names: Sequence[str] | None = None, *, replicas: int = 1,
                         create_only: Sequence[str] = ()) -> None:
    """Create ``names`` or bring them to this configuration; ``create_only`` streams are created if missing and
    otherwise left as they are (a service may not change what it does not manage, kit.messaging.trust)."""
    for name in [*(names if names is not None else list(STREAMS)), *create_only]:
        config = stream_config(name, replicas)
        try:
            await js.stream_info(name)
        except NotFoundError:
            await js.add_stream(config)
        else:
            if name not in create_only:
                await js.update_stream(config)
