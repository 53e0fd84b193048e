"""Talking to an Inter-Hub: the HTTP client, the target (reference, live, replay), run ids."""
