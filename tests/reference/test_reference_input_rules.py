"""Reference hub: a body its JSON reader would change (repeated keys, integers beyond 64
bits) is refused with a 400 naming the field, never stored changed (issue 16, ASM-19)."""

from __future__ import annotations

import httpx
import pytest

EVENTS = "/api/v2/interaction-events"
WIDGET = "00000000-0000-4000-8000-000000000105"
HEAD = '{"widgetId": "' + WIDGET + '", "eventType": "ops-endpoint-verified"'


def _post(http: httpx.Client, body: str) -> httpx.Response:
    return http.post(EVENTS, content=body, headers={"content-type": "application/json"})


@pytest.mark.parametrize("body, field", [
    (HEAD + ', "metadata": {"n": 18446744073709551616}}', "metadata"),
    (HEAD + ', "metadata": {"a": [{"n": -9223372036854775809}]}}', "metadata"),
    (HEAD + ', "metadata": {"n": 1' + "0" * 400 + "}}", "metadata"),
    (HEAD + ', "metadata": {"k": 1, "k": 2}}', "metadata"),
    (HEAD + ', "metadata": {"a": {"k" : 1, "k" : 1}}}', "metadata"),
    (HEAD + ', "eventType": "ops-drift-detected"}', "eventType"),
])
def test_a_body_the_reader_would_change_is_refused_naming_the_field(http, body, field):
    before = http.get(EVENTS, params={"widgetId": WIDGET}).json()["pagination"]["totalCount"]
    answer = _post(http, body)
    assert answer.status_code == 400, answer.text
    assert answer.json()["error"]["field"] == field
    after = http.get(EVENTS, params={"widgetId": WIDGET}).json()["pagination"]["totalCount"]
    assert after == before  # nothing stored


def test_integers_within_64_bits_come_back_exactly(http):
    numbers = {"u64max": 18446744073709551615, "i64min": -9223372036854775808, "f": 0.1,
               "same": {"u64max": 1}}
    answer = http.post(EVENTS, json={"widgetId": WIDGET, "eventType": "ops-endpoint-verified",
                                     "metadata": numbers})
    assert answer.status_code == 201 and answer.json()["metadata"] == numbers
    listed = http.get(EVENTS, params={"widgetId": WIDGET, "pageSize": 200}).json()["data"]
    assert any(row["metadata"] == numbers for row in listed)
