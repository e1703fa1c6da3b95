"""The ``iamkit`` command line: a module per command, and :func:`main`.

Exit status: 0 allowed / valid / every batch line evaluated; 1 the request was denied;
2 bad input (a malformed file, scenario or policy, or batch lines that failed).

=====================  ======================================================
``simulate``           a scenario explained; batches of JSON lines
``validate``           a policy's or scenario's problems, located
``account``            ``can``, ``permissions``, ``who-can-assume``, ``expand``
``audit``              an account checked against AWS's IAM best practices
``least_privilege``    ``least-privilege``: a policy from an activity log
``lint``               a policy's over-broad grants
``sandbox``            ``sandbox start``: the local IAM endpoint in the foreground
``_common``            reading input, located problems, printing
``_workers``           a batch shared between this process and forked ones
=====================  ======================================================
"""

from __future__ import annotations

import argparse
import sys
from typing import Sequence

from .. import __version__, native

native.extend(__name__, __path__)  # its compiled modules, where they are built (iamkit.native)

from ..errors import EXIT_BAD_INPUT, EXIT_OK, BadInput, PolicyError, UsageError
from ._common import say

__all__ = ["build_parser", "main"]


_CORE_COMMANDS = ("simulate", "validate", "--version")  # these need only the core parser


def build_parser(*, core_only: bool = False) -> argparse.ArgumentParser:
    """The argument parser of the ``iamkit`` command.

    Args:
        core_only: only the engine's commands (``simulate``, ``validate``), so a batch run
            does not pay for importing the account, audit and sandbox modules.
    """
    parser = argparse.ArgumentParser(
        prog="iamkit",
        description="Explain AWS IAM policy decisions, validate policies, and run scenarios.",
    )
    parser.add_argument("--version", action="version", version=f"iamkit {__version__}")
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    from . import simulate, validate  # the core commands: a batch run loads nothing more

    simulate.register(sub)
    validate.register(sub)
    if core_only:
        return parser

    from . import account, audit, least_privilege, lint, sandbox

    for command in (account, audit, least_privilege, lint, sandbox):
        command.register(sub)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Run the command line; returns the exit status."""
    argv = list(sys.argv[1:] if argv is None else argv)
    parser = build_parser(core_only=bool(argv) and argv[0] in _CORE_COMMANDS)
    args = parser.parse_args(argv)
    try:
        return int(args.run(args))
    except BadInput as exc:
        for problem in exc.problems:
            say(problem.located(exc.name), err=True)
        return EXIT_BAD_INPUT
    except (UsageError, PolicyError) as exc:
        say(f"iamkit: {exc}", err=True)
        return EXIT_BAD_INPUT
    except KeyboardInterrupt:
        return 130
    except BrokenPipeError:
        return EXIT_OK
