"""`validate events FILE`: the stream checker on a file, stdin or a pipe."""

from __future__ import annotations

import argparse
import json
import os
import sys
from collections.abc import Iterator
from stat import S_ISREG
from typing import IO

from ihub_conformance.contract.loader import load_contract
from ihub_conformance.documents import standard_input
from ihub_conformance.errors import EXIT_FINDINGS, EXIT_OK, InputError
from ihub_conformance.stream.parallel import auto_jobs, check_file, check_pipe
from ihub_conformance.stream.pipeline import (
    WARNING,
    Finding,
    StreamSummary,
    check_stream,
    read_lines,
)


def _open(path: str) -> tuple[IO[bytes], str]:
    if path == "-":
        return standard_input(), "<stdin>"
    try:
        return open(path, "rb"), path
    except FileNotFoundError:
        raise InputError(path, "file not found") from None
    except IsADirectoryError:
        raise InputError(path, "is a directory, not a JSON Lines file") from None
    except PermissionError:
        raise InputError(path, "not readable (permission denied)") from None
    except OSError as exc:
        raise InputError(path, f"cannot open: {exc.strerror or exc}") from None


def main(args: argparse.Namespace) -> int:
    """`validate events FILE`: exit 0 clean, 1 findings, 2 unreadable input.

    `--jobs N` (N > 1) checks the input with N worker processes (stream_parallel); the
    output is the same as with one. `--jobs auto` picks N from a regular file's size and
    keeps stdin and pipes in one process, so findings follow the input line by line.
    """
    contract = load_contract(getattr(args, "contract", "v1")).version  # exit 2 if unknown
    fmt = getattr(args, "format", "text")
    stream, name = _open(args.file)
    from_stdin = args.file == "-"
    out = sys.stdout
    summary = StreamSummary(contract)
    try:
        info = None if from_stdin else os.fstat(stream.fileno())
        regular = info is not None and S_ISREG(info.st_mode)
        jobs = getattr(args, "jobs", 1) or 1
        if jobs == "auto":
            jobs = auto_jobs(info.st_size) if info is not None and regular else 1
        if jobs > 1 and regular:
            findings = check_file(args.file, contract=contract, summary=summary, jobs=jobs)
        elif jobs > 1:  # stdin or a pipe, with --jobs N: chunks shipped to the workers
            findings = check_pipe(stream, contract=contract, summary=summary, jobs=jobs)
        else:
            findings = check_stream(read_lines(stream), contract=contract, summary=summary)
        if fmt == "json":
            _write_json(out, name, contract, findings, summary)
        else:
            write = out.write
            for f in findings:
                level = "warning: " if f.kind == WARNING else ""
                write(f"{name}:{f.line}: {f.pointer or '/'}: {level}{f.reason}\n")
            write(f"{name}: {summary.text()}\n")
    except OSError as exc:
        raise InputError(name, f"read failed: {exc.strerror or exc}") from None
    finally:
        if not from_stdin:
            stream.close()
    return EXIT_FINDINGS if summary.invalid else EXIT_OK


def _write_json(out: IO[str], name: str, contract: str, findings: Iterator[Finding],
                summary: StreamSummary) -> None:
    """One JSON object, written as findings arrive (memory stays flat for long streams)."""
    out.write('{"contract": ' + json.dumps(contract) + ', "file": ' + json.dumps(name)
              + ', "findings": [')
    first = True
    for f in findings:
        out.write(("\n  " if first else ",\n  ") + json.dumps(f.as_dict()))
        first = False
    out.write(("\n" if not first else "") + "], ")
    out.write(f'"lines": {summary.lines}, "valid": {summary.valid}, '
              f'"invalid": {summary.invalid}, "summary": {json.dumps(summary.as_dict())}}}\n')
