"""The realistic-event generator of fixtures/events/generate.py, loaded once for the tests."""

from __future__ import annotations

import importlib.util
from pathlib import Path
from types import ModuleType

GENERATOR = Path(__file__).resolve().parents[1] / "fixtures" / "events" / "generate.py"


def _load() -> ModuleType:
    spec = importlib.util.spec_from_file_location("_events_gen", GENERATOR)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


gen = _load()
