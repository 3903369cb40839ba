"""Every service's event consumer takes the consumer settings of its environment."""
from __future__ import annotations

from pathlib import Path

import pytest

from kit.sealed import SealKeyPair

import cofor.bootstrap
import identity.bootstrap
import support.bootstrap
from cofor.settings import CoforSettings
from identity.settings import IdentitySettings
from support.settings import SupportSettings


@pytest.mark.parametrize("module, settings_type", [(cofor.bootstrap, CoforSettings),
                                                    (identity.bootstrap, IdentitySettings),
                                                    (support.bootstrap, SupportSettings)])
def test_ack_wait_and_max_deliver_come_from_the_settings(module: object, settings_type: type, tmp_path: Path,
                                                          monkeypatch: pytest.MonkeyPatch) -> None:
    seal = SealKeyPair.generate()
    monkeypatch.setenv("CONSUMER_ACK_WAIT_SECONDS", "7")
    monkeypatch.setenv("CONSUMER_MAX_DELIVER", "3")
    settings = settings_type(database_url=f"sqlite+aiosqlite:///{tmp_path / 'x.sqlite3'}",
                             mail_seal_public_key=seal.public_key, mail_seal_private_key=seal.private_key)
    app = module.build_app(settings)  # type: ignore[attr-defined]
    configs = [c.config() for c in app.consumers]
    assert configs and all(c.ack_wait == 7 and c.max_deliver == 4 for c in configs)  # one more: ours to dead-letter
