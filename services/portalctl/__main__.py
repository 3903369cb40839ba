"""``portalctl <service> <action> ...`` — see ``portalctl --help``."""
from __future__ import annotations

import sys

import click
import grpc

from portalctl import cofor_access_commands  # noqa: F401  (registers its commands on the cofor group)
from portalctl.cli import CONTEXT, json_option
from portalctl.cofor_commands import cofor_group
from portalctl.connection import explain
from portalctl.identity_commands import identity_group
from portalctl.oidc_commands import oidc_group
from portalctl.support_commands import support_group

cli = click.Group("portalctl", help="Operate the B2B supplier portal back end: purchasing, support staff and "
                                    "operators. Each command has its own --help, with an example.",
                  epilog="\b\nEnvironment: PORTAL_OPERATOR_TOKEN (else var/secrets/dev.env of `make run`), "
                         "COFOR_TARGET,\nIDENTITY_TARGET, SUPPORT_TARGET, PORTAL_PORT_OFFSET, PORTAL_AGENT.",
                  params=[json_option()], no_args_is_help=True, context_settings=CONTEXT,
                  commands=[cofor_group, identity_group, oidc_group, support_group])


def main(argv: list[str] | None = None) -> int:
    """Runs one command: 0 once it succeeded, 1 with one line on stderr for a refusal by a service (or a service
    out of reach), 2 with Click's usage message for a command line it cannot take."""
    try:
        code = cli.main(argv, prog_name="portalctl", standalone_mode=False)  # an int: --help's exit code
    except click.ClickException as error:  # a usage error (2), or a command that cannot go on (1)
        error.show()
        return error.exit_code
    except click.Abort:
        click.echo("Aborted!", err=True)
        return 1
    except grpc.aio.AioRpcError as error:
        if error.code() == grpc.StatusCode.UNAVAILABLE:
            print(f"error: service unreachable ({error.details()})", file=sys.stderr)
            return 1
        return explain(error)
    return code if isinstance(code, int) else 0


if __name__ == "__main__":
    raise SystemExit(main())
