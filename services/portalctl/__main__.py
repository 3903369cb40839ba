"""``portalctl <service> <action> ...`` — see ``portalctl --help``."""
from __future__ import annotations

import argparse
import asyncio
import os
import sys

import grpc

from portalctl import cofor_commands, identity_commands, oidc_commands, support_commands
from portalctl.connection import explain


def parser() -> argparse.ArgumentParser:
    root = argparse.ArgumentParser(prog="portalctl", description="Operate the B2B supplier portal back end.")
    commands = root.add_subparsers(dest="service", required=True)
    cofor_commands.register(commands)
    identity_commands.register(commands)
    oidc_commands.register(commands)
    support_commands.register(commands)
    return root


def main(argv: list[str] | None = None) -> int:
    args = parser().parse_args(argv)
    try:
        asyncio.run(args.run(args))
        sys.stdout.flush()
    except grpc.aio.AioRpcError as error:
        if error.code() == grpc.StatusCode.UNAVAILABLE:
            print(f"error: service unreachable ({error.details()})", file=sys.stderr)
            return 1
        return explain(error)
    except BrokenPipeError:  # the reader stopped reading (`portalctl … | head`): what it wanted, it has
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())  # no second error when Python exits
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
