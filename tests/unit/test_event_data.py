"""Event data written without encoding a dict is the same text as the encoded dict."""

from __future__ import annotations

import pytest

from gnomon.store.rows import attempt_data, dumps


@pytest.mark.parametrize(
    ("attempt", "error"),
    [
        (1, None),
        (12, None),
        (1, ""),
        (3, "boom"),
        (2, 'a "quoted" \\ error\nwith lines'),
        (1, "non-ASCII: é, ü, 日本, 🙂"),
    ],
)
def test_an_outcome_events_data_is_the_dict_encoded(attempt: int, error: str | None) -> None:
    data: dict[str, object] = {"attempt": attempt}
    if error:
        data["error"] = error
    assert attempt_data(attempt, error) == dumps(data)
