"""The `ihub-conformance` command line: one subcommand per module under commands/."""

from __future__ import annotations

import argparse
import contextlib
import importlib
import io
import os
import signal
import sys
import threading
from collections.abc import Iterator, Sequence
from typing import Any, TextIO

from ihub_conformance import __version__
from ihub_conformance.errors import (
    EXIT_INTERRUPTED,
    EXIT_USAGE,
    ConformanceError,
    OutputClosed,
    OutputError,
    Terminated,
)

# subcommand -> module under ihub_conformance.commands; each module defines
# HELP (str), add_arguments(parser) and main(args) -> int.
_COMMANDS = {
    "validate": "validate",
    "serve": "serve",
    "run": "run",
    "gate": "gate",
    "mutants": "mutants",
    "catalog": "catalog",
    "calibrate": "calibrate",
    "diff": "diff",
}
STDOUT = "<stdout>"


def _load(name: str):
    return importlib.import_module(f"ihub_conformance.commands.{_COMMANDS[name]}")


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="ihub-conformance",
        description="Contract tests and conformance checks for Inter-Hub evidence intake.",
        epilog="Exit codes: 0 ok, 1 findings/non-conformant, 2 usage or input error, "
        "3 target unreachable, 130/143 interrupted by SIGINT/SIGTERM.",
    )
    parser.add_argument("--version", action="version", version=f"%(prog)s {__version__}")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    for name in _COMMANDS:
        module = _load(name)
        command = sub.add_parser(name, help=module.HELP, description=module.HELP)
        module.add_arguments(command)
        command.set_defaults(_main=module.main)
    return parser


class _GuardedOutput:
    """stdout whose write failures are OutputError / OutputClosed, not OSError (so no
    caller mistakes them for an input's read failure)."""

    def __init__(self, stream: TextIO) -> None:
        self._stream = stream

    def _call(self, method: str, *args: Any) -> Any:
        try:
            return getattr(self._stream, method)(*args)
        except BrokenPipeError:
            raise OutputClosed("the reader closed standard output") from None
        except (OSError, ValueError) as exc:  # ValueError: write to a closed file
            reason = getattr(exc, "strerror", None) or str(exc)
            raise OutputError(STDOUT, f"write failed: {reason}") from None

    def write(self, text: str) -> int:
        return self._call("write", text)

    def flush(self) -> None:
        self._call("flush")

    def __getattr__(self, name: str) -> Any:
        return getattr(self._stream, name)


def _silence_stdout(stream: TextIO) -> None:
    """Point fd 1 at /dev/null so the interpreter's last flush cannot fail noisily."""
    with contextlib.suppress(OSError, ValueError, AttributeError, io.UnsupportedOperation):
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, stream.fileno())
        os.close(devnull)


def _say(line: str) -> None:
    with contextlib.suppress(OSError, ValueError, AttributeError):
        print(line, file=sys.stderr, flush=True)


def _raise_terminated(signum: int, frame: object) -> None:
    raise Terminated()


@contextlib.contextmanager
def _sigterm_as_exception() -> Iterator[None]:
    """SIGTERM unwinds like Ctrl-C: child processes are stopped, files closed or removed."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    previous = signal.signal(signal.SIGTERM, _raise_terminated)
    try:
        yield
    finally:
        signal.signal(signal.SIGTERM, previous)


def main(argv: Sequence[str] | None = None) -> int:
    if sys.stdout is None:  # started with stdout closed: nowhere to say anything
        _say(f"ihub-conformance: error: {STDOUT}: standard output is closed")
        return EXIT_USAGE
    real = sys.stdout
    sys.stdout = _GuardedOutput(real)  # type: ignore[assignment]
    try:
        with _sigterm_as_exception():
            return _dispatch(argv)
    except OutputClosed as exc:
        _silence_stdout(real)
        return exc.exit_code
    except OutputError as exc:
        _silence_stdout(real)
        _say(f"ihub-conformance: error: {exc}")
        return exc.exit_code
    finally:
        sys.stdout = real


def _dispatch(argv: Sequence[str] | None) -> int:
    try:
        parser = build_parser()
        args = parser.parse_args(argv)
        if not getattr(args, "_main", None):
            parser.print_help(sys.stderr)
            return EXIT_USAGE
        code = int(args._main(args))
        sys.stdout.flush()
        return code
    except SystemExit:  # argparse (--help, usage errors): flush what it printed first
        sys.stdout.flush()
        raise
    except (OutputClosed, OutputError):
        raise
    except ConformanceError as exc:
        sys.stdout.flush()
        _say(f"ihub-conformance: error: {exc}")
        return exc.exit_code
    except KeyboardInterrupt as exc:
        code = getattr(exc, "exit_code", EXIT_INTERRUPTED)
        _say("ihub-conformance: interrupted" + (" (SIGTERM)" if code != EXIT_INTERRUPTED
                                                 else ""))
        return code


if __name__ == "__main__":
    sys.exit(main())
