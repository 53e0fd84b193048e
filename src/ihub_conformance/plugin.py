"""pytest plugin (entry point `ihub_conformance`): fixtures and options for the suite.

Loaded in every pytest session where ihub-conformance is installed, so other
projects (activity-core first) get the `ihub_reference` fixture for free.
"""

from __future__ import annotations

# The conformance suite's options, requirement traceability and results (hooks.py).
from ihub_conformance.hooks import (  # noqa: F401
    pytest_addoption,
    pytest_collection_modifyitems,
    pytest_configure,
    pytest_recording_configure,
    pytest_runtest_makereport,
    pytest_sessionfinish,
    pytest_terminal_summary,
    pytest_unconfigure,
)
from ihub_conformance.reference.fixtures import ihub_reference  # noqa: F401
