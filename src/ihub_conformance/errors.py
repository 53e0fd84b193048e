"""Errors every command turns into a one-line message and a documented exit code."""

from __future__ import annotations

# Exit codes shared by every command (documented in the README).
EXIT_OK = 0
EXIT_FINDINGS = 1  # invalid document, non-conformant hub, failed gate
EXIT_USAGE = 2  # usage, configuration or unreadable input
EXIT_UNREACHABLE = 3  # the target could not be reached


class ConformanceError(Exception):
    """A user-facing error: printed as one line, never as a traceback."""

    exit_code = EXIT_USAGE


class InputError(ConformanceError):
    """Unreadable or malformed input: names the file, the field and the reason."""

    def __init__(self, source: str, reason: str, field: str | None = None) -> None:
        self.source = source
        self.field = field
        self.reason = reason
        where = f"{source}: {field}: " if field else f"{source}: "
        super().__init__(where + reason)


class TargetUnreachable(ConformanceError):
    """The Inter-Hub (or State Hub) did not answer: refused or timed out."""

    exit_code = EXIT_UNREACHABLE


# Exit codes of a run ended by a signal (128 + the signal number, as shells report it).
EXIT_INTERRUPTED = 130  # SIGINT
EXIT_TERMINATED = 143  # SIGTERM
EXIT_OUTPUT_CLOSED = 141  # the reader of stdout went away (SIGPIPE, as Unix tools end)


class OutputError(ConformanceError):
    """The output could not be written (disk full, closed descriptor): names the output."""

    def __init__(self, output: str, reason: str) -> None:
        self.output = output
        super().__init__(f"{output}: {reason}")


class OutputClosed(ConformanceError):
    """The reader of stdout closed its end: the command ends quietly."""

    exit_code = EXIT_OUTPUT_CLOSED


class Terminated(KeyboardInterrupt):
    """SIGTERM, raised like Ctrl-C so every ``finally`` (child processes, files) runs."""

    exit_code = EXIT_TERMINATED
