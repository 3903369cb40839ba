"""Every portalctl command explains itself: ``--help`` exits 0 and describes the command, each of its arguments
and options (each documented), and ends with an example of the command; ``-h`` is the same page."""
from __future__ import annotations

import re

import click
import pytest

from portalctl.__main__ import cli, main


def commands(group: click.Group = cli, path: tuple[str, ...] = ()) -> list[tuple[str, ...]]:
    found: list[tuple[str, ...]] = []
    for name, command in group.commands.items():
        found += commands(command, path + (name,)) if isinstance(command, click.Group) else [path + (name,)]
    return found


def command_at(path: tuple[str, ...]) -> click.Command:
    command: click.Command = cli
    for name in path:
        assert isinstance(command, click.Group)
        command = command.commands[name]
    return command


def test_every_documented_command_is_there() -> None:
    assert {" ".join(p) for p in commands()} >= {
        "cofor presentations", "cofor presentation", "cofor reference", "cofor reject", "cofor show", "cofor list",
        "cofor add-site", "cofor deactivate", "cofor reactivate", "cofor suspend", "cofor reopen", "cofor validate",
        "cofor requests", "cofor review", "cofor signatory", "cofor reset-access", "cofor open-file",
        "identity find", "identity show", "identity audit", "identity unlock", "identity disable",
        "identity revoke-admin", "identity reset-factors", "oidc clients add", "oidc clients list",
        "oidc clients show", "oidc clients rotate-secret", "oidc clients disable", "oidc keys rotate",
        "support tickets", "support ticket", "support status", "support reply"}


@pytest.mark.parametrize("path", commands(), ids=" ".join)
def test_each_command_has_a_help_page_with_every_option_and_an_example(path: tuple[str, ...],
                                                                       capsys: pytest.CaptureFixture[str]) -> None:
    assert main([*path, "--help"]) == 0
    page = capsys.readouterr().out
    command = command_at(path)
    assert command.help and page.startswith(f"Usage: portalctl {' '.join(path)} ")
    for param in command.params:
        assert getattr(param, "help", None), f"{param.name} of {' '.join(path)} has no help"
        if isinstance(param, click.Option):
            assert all(f"  {opt}" in page or f", {opt}" in page for opt in param.opts), param.opts
        else:
            assert param.make_metavar(click.Context(command)) in page
    assert "--json" in page and re.search(r"^  Examples?:$", page, re.M) and f"\n    portalctl {' '.join(path)}" in page
    assert main([*path, "-h"]) == 0 and capsys.readouterr().out == page


@pytest.mark.parametrize("path", [(), ("cofor",), ("identity",), ("oidc",), ("oidc", "clients"), ("oidc", "keys"),
                                  ("support",)], ids=lambda p: " ".join(p) or "portalctl")
def test_each_group_lists_its_commands(path: tuple[str, ...], capsys: pytest.CaptureFixture[str]) -> None:
    assert main([*path, "--help"]) == 0
    page = capsys.readouterr().out
    group = command_at(path)
    assert isinstance(group, click.Group) and group.help
    assert all(f"  {name}  " in page or f"  {name}\n" in page for name in group.commands)
