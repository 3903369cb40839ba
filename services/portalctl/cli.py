"""How portalctl's commands are declared (Click): each is an async function registered on its service's group with
an example for its ``--help``, given ``--json``, and run in its own event loop; the options several commands share
(``--agent``, choices of enum values in any case) are written here once."""
from __future__ import annotations

import asyncio
import functools
import os
import re
import sys
from collections.abc import Callable, Coroutine, Sequence
from typing import Any

import click

AsyncCommand = Callable[..., Coroutine[Any, Any, None]]
CONTEXT = {"help_option_names": ["-h", "--help"], "max_content_width": 100}


def _json_wanted(context: click.Context, _: click.Parameter, value: bool) -> None:
    if value:
        context.meta["portalctl.json"] = True


def json_option() -> click.Option:
    return click.Option(["--json"], is_flag=True, expose_value=False, callback=_json_wanted,
                        help="Print the result as JSON, for scripts: the protobuf messages (proto field names, "
                             "enum names in full, empty values included).")


def group(name: str, help_: str) -> click.Group:
    """A service's (or area's) group of commands; ``portalctl <name> -h`` lists them. --json may come before the
    command too (``portalctl identity --json show V123456``)."""
    return click.Group(name, help=help_, no_args_is_help=True, context_settings=CONTEXT, params=[json_option()])


def command(parent: click.Group, name: str, example: str) -> Callable[[AsyncCommand], click.Command]:
    """Registers an async function (its docstring is the help, its Click parameters the command line) as
    ``<parent> <name>``, with ``--json`` and the example shown at the end of its ``--help``."""

    def register(function: AsyncCommand) -> click.Command:
        @functools.wraps(function)
        def run(**values: Any) -> None:
            try:
                asyncio.run(function(**values))
                sys.stdout.flush()
            except BrokenPipeError:  # the reader stopped reading (`portalctl … | head`): what it wanted, it has
                os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())  # no second error when Python exits

        lines = example.strip().splitlines()
        heading = "Examples:" if sum(line.startswith("portalctl") for line in lines) > 1 else "Example:"
        epilog = "\n".join(["\b", heading] + [f"  {line}" for line in lines])
        made = click.command(name, epilog=epilog, context_settings=CONTEXT)(run)
        made.params.append(json_option())
        parent.add_command(made)
        return made

    return register


class Words(click.Choice[str]):
    """One of an enum's value names, in any case, with '-' or a space for '_' (``in-progress``, ``In progress``);
    gives the name as declared (``IN_PROGRESS``)."""

    def __init__(self, names: Sequence[str]) -> None:
        super().__init__(names, case_sensitive=False)

    def normalize_choice(self, choice: object, ctx: click.Context | None) -> str:
        return re.sub(r"[\s_-]+", "_", super().normalize_choice(choice, ctx).strip())

    def listed(self) -> str:
        """The values as a help text names them: ``new, in-progress, …``."""
        return ", ".join(str(name).lower().replace("_", "-") for name in self.choices)


LANGUAGE = click.Choice(["fr", "en"], case_sensitive=False)


def agent_option(function: Callable[..., Any]) -> Callable[..., Any]:
    """--agent: who decides, recorded with the decision (connection.agent_name gives the default)."""
    return click.option("--agent", metavar="NAME",
                        help="Your name, recorded with the decision (default: $PORTAL_AGENT, else your login).")(
        function)


def reason_option(required: bool, text: str) -> Callable[[Callable[..., Any]], Callable[..., Any]]:
    """--reason: required, or "" when not given."""
    return click.option("--reason", metavar="TEXT", help=text, **({"required": True} if required else {"default": ""}))
