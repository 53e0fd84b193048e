"""pytest plugin (entry point `ihub_conformance`): fixtures and options for the suite.

Loaded in every pytest session where ihub-conformance is installed, so other
projects (activity-core first) get the `ihub_reference` fixture for free.
"""

from __future__ import annotations

from ihub_conformance.reference.fixtures import ihub_reference  # noqa: F401
