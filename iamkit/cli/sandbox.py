"""``iamkit sandbox start``: the sandbox in the foreground, with the lines that point another
terminal's ``aws`` command at it."""

from __future__ import annotations

import argparse
import signal
import sys
import time
from contextlib import contextmanager
from typing import Any, Callable, Iterator

from ..errors import SandboxError
from ..sandbox.demo import COMPANIES
from ..sandbox.server import start_sandbox

__all__ = ["register"]


def register(subparsers: Any) -> None:
    """Add ``iamkit sandbox start [--seed demo|clean] [--port N]`` to the ``iamkit`` command.

    Args:
        subparsers: the object ``ArgumentParser.add_subparsers()`` returned; the command sets
            ``run`` to a function of the parsed arguments that returns the exit status.
    """
    sandbox = subparsers.add_parser(
        "sandbox", help="run a local IAM and STS endpoint for the aws command and boto3",
        description="A local IAM and STS endpoint (moto) on 127.0.0.1: type real aws commands with no "
                    "AWS account; nothing is sent to AWS.")
    commands = sandbox.add_subparsers(dest="sandbox_command", required=True, metavar="COMMAND")
    start = commands.add_parser(
        "start", help="run the sandbox in the foreground until Ctrl+C",
        description="Run the sandbox in the foreground and print the export lines that point another "
                    "terminal at it. Exit status: 0 after Ctrl+C, 2 when it cannot start.")
    start.add_argument("--seed", choices=list(COMPANIES), default=None,
                       help="load the demo company: `demo` (with planted mistakes) or `clean`")
    start.add_argument("--port", type=_port, default=None, metavar="N",
                       help="local port, 1 to 65535 (default, or 0: a free one)")
    start.set_defaults(run=_run_start)


def _run_start(args: argparse.Namespace, *, out: Any = None, wait: Callable[[], None] | None = None) -> int:
    out = out or sys.stdout
    try:  # `kill` stops it as Ctrl+C does: cleanly, its files removed
        previous = signal.signal(signal.SIGTERM, _interrupt)
    except ValueError:  # not the main thread
        previous = None
    sandbox = None
    try:
        with _signals_held():  # a `kill` while the company loads takes effect once it has loaded
            sandbox = start_sandbox(seed=args.seed, port=args.port or None)
        seeded = f", company {args.seed}" if args.seed else ", empty account"
        print(f"# iamkit sandbox: IAM and STS on {sandbox.endpoint_url} (account {sandbox.account_id}{seeded})",
              file=out)
        print("# paste these lines into another terminal, then type aws commands there:", file=out)
        for line in sandbox.export_lines():
            print(line, file=out)
        print("# press Ctrl+C to stop", file=out, flush=True)
        (wait or _forever)()
    except SandboxError as exc:
        print(f"iamkit: {exc}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        pass
    finally:
        if sandbox is not None:
            sandbox.stop()
        if previous is not None:
            signal.signal(signal.SIGTERM, previous)
    print("# sandbox stopped", file=out)
    return 0


@contextmanager
def _signals_held() -> Iterator[None]:
    """Hold SIGINT and SIGTERM back from this thread until the block ends, then deliver them.

    A KeyboardInterrupt raised in the middle of moto or of the start-up would leave them
    half done; held, it arrives between two whole steps. Where signals cannot be held
    (Windows), the block runs as it is.
    """
    held = {signal.SIGINT, signal.SIGTERM}
    if not hasattr(signal, "pthread_sigmask"):
        yield
        return
    before = signal.pthread_sigmask(signal.SIG_BLOCK, held)
    try:
        yield
    finally:
        signal.pthread_sigmask(signal.SIG_SETMASK, before)


def _port(text: str) -> int:
    """``--port``: 0 to 65535, or a clear argparse error (exit status 2)."""
    try:
        port = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"`{text}` is not a port: give a number from 1 to 65535") from None
    if not 0 <= port <= 65535:
        raise argparse.ArgumentTypeError(f"`{text}` is not a port: give a number from 1 to 65535, or 0 for a free one")
    return port


def _interrupt(signum: int, frame: Any) -> None:
    raise KeyboardInterrupt


def _forever() -> None:
    while True:
        time.sleep(3600)
