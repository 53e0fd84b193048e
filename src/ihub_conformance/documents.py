"""Reading the tool's own input files, with one-line errors naming the file."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import yaml

from ihub_conformance.errors import InputError


def read_text(path: str | Path, what: str = "") -> str:
    """The file's UTF-8 text; an unreadable file is an InputError ("cannot read <what>: ...")."""
    try:
        return Path(path).read_text(encoding="utf-8")
    except OSError as exc:
        label = f"cannot read {what}" if what else "cannot read"
        raise InputError(str(path), f"{label}: {exc.strerror or exc}") from None
    except UnicodeDecodeError as exc:
        raise InputError(str(path), f"not UTF-8 text (byte {exc.start})") from None


def yaml_error_where(exc: yaml.YAMLError) -> str:
    """Where pyyaml found a syntax error: ``line N`` when it knows, else ``document``."""
    mark = getattr(exc, "problem_mark", None)
    return f"line {mark.line + 1}" if mark else "document"


def read_yaml(path: Path, *, syntax: str = "YAML") -> Any:
    """Parse a YAML (or JSON, which is YAML) file.

    ``syntax`` names what the file may hold in the error, e.g. ``not valid YAML (line 3)``.
    """
    text = read_text(path)
    try:
        return yaml.safe_load(text)
    except yaml.YAMLError as exc:
        raise InputError(str(path), f"not valid {syntax} ({yaml_error_where(exc)})") from None
