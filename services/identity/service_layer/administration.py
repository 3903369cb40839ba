"""The ASL console (scoped to the ASL's company) and the support staff's tools (any company), by area:
console_base (who acts, on which account, in which lock order), console_reads, console_changes."""
from __future__ import annotations

from identity.service_layer.console_base import Actor, NewUser
from identity.service_layer.console_changes import ConsoleChanges
from identity.service_layer.console_reads import ConsoleReads


class Administration(ConsoleChanges, ConsoleReads):
    pass


__all__ = ["Administration", "Actor", "NewUser"]
