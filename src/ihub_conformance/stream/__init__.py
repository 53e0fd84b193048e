"""The interaction-event stream checker (``validate events``): one verdict, the engine's.

``pipeline`` checks lines in one process; ``parallel`` spreads a file or pipe over
forked workers (``workers``); ``guard`` and ``fastpath`` prove valid lines valid
from their bytes, with the patterns ``raw_patterns`` rewrites for raw lines. May import
contract, validation and secrets.
"""

from __future__ import annotations

from ihub_conformance.stream.pipeline import Finding, StreamSummary, check_stream, read_lines

__all__ = ["Finding", "StreamSummary", "check_stream", "read_lines"]
