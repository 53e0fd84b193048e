"""The one run-id format: every object a run writes to a hub carries its run id."""

from __future__ import annotations

import re
import secrets
from datetime import UTC, datetime

__all__ = ["RUN_ID_PATTERN", "new_run_id"]

# `<command>-YYYYMMDD-HHMMSS-NNNNNN`: digits only after the command name, so secret
# scanners never take a run id (in reports, widget names, event metadata) for a
# high-entropy token; the UTC time makes an object's name say when it was written.
RUN_ID_PATTERN = re.compile(r"^[a-z]+-[0-9]{8}-[0-9]{6}-[0-9]{6}$")


def new_run_id(command: str) -> str:
    """A fresh run id for `command` ("gate", "run"): UTC time plus six random digits."""
    stamp = datetime.now(UTC).strftime("%Y%m%d-%H%M%S")
    return f"{command}-{stamp}-{secrets.randbelow(10**6):06d}"
