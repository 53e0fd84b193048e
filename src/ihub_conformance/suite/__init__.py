"""The conformance suite's machinery: the pytest plugin, its state, recording, report, mutants."""
