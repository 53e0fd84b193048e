"""Secret-like material: the detectors, the payload scan, and the one scrubber for outputs."""
