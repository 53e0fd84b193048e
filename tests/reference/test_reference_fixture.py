"""The `ihub_reference` fixture other projects get from the plugin."""

from __future__ import annotations


def test_fixture_serves_a_seeded_hub_with_an_authed_client(ihub_reference):
    with ihub_reference.client() as http:
        consumer = http.get("/api/v2/consumer")
        assert consumer.status_code == 200
        assert consumer.json()["manifestId"] is not None  # the manifest-bound activity-core key
        widgets = http.get("/api/v2/widgets").json()
        assert widgets["pagination"]["totalCount"] >= 6
    assert ihub_reference.key not in repr(ihub_reference)
    assert ihub_reference.unbound_key and ihub_reference.unbound_key != ihub_reference.key
