"""The reference Inter-Hub: an embedded, contract-faithful /api/v2 server."""
