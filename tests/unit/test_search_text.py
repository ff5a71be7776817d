"""What a job search looks in: the action summary of each kind, with no secret in it."""

from __future__ import annotations

import pytest

from gnomon.models import ActionSpec
from gnomon.search_text import SEPARATOR, action_summary, fold, text_of


@pytest.mark.parametrize(
    ("kind", "config", "summary"),
    [
        ("shell", {"argv": ["tar", "czf", "/tmp/a b.tgz"]}, "shell tar czf '/tmp/a b.tgz'"),
        (
            "http",
            {"url": "https://u:pw@h.example:8443/p?token=x#f"},
            "http GET https://h.example:8443/p",
        ),
        ("http", {"url": "https://h/p", "method": "POST"}, "http POST https://h/p"),
        ("publish", {"destination": "orders"}, "publish orders"),
        ("mqtt", {"topic": "home/door", "broker": "mqtt://u:pw@b"}, "mqtt home/door"),
        ("python", {"ref": "app.jobs:clean"}, "python app.jobs:clean"),
        ("celery", {"task": "app.add", "destination": "main"}, "celery app.add main"),
        ("mcp", {"tool": "search", "server_name": "docs", "env": {"K": "v"}}, "mcp search docs"),
        ("notify", {"urls": ["tgram://tok/chat"], "title": "Disk full"}, "notify Disk full"),
        (
            "sequence",
            {
                "steps": [
                    {"id": "get", "action": {"kind": "http", "config": {"url": "https://h/x"}}}
                ]
            },
            "sequence get: http GET https://h/x",
        ),
        ("my-plugin", {"anything": "at all"}, "my-plugin"),
        ("shell", {"argv": "not a list"}, "shell"),
    ],
)
def test_each_kind_is_summarised_by_what_it_does(
    kind: str, config: dict[str, object], summary: str
) -> None:
    assert action_summary(ActionSpec(kind=kind, config=config)) == summary


def test_a_secret_of_the_config_is_masked_wherever_it_appears() -> None:
    action = ActionSpec(
        kind="shell", config={"argv": ["curl", "-u", "hunter22"], "env": {"PASSWORD": "hunter22"}}
    )
    assert action_summary(action) == "shell curl -u ***"


def test_the_search_text_is_one_folded_line_per_field() -> None:
    action = ActionSpec(kind="shell", config={"argv": ["echo", "a\nb"]})
    assert text_of("Job-1", "Straße", action) == SEPARATOR.join(
        ["job-1", "strasse", "shell echo 'a b'", "", ""]
    )
    assert fold("A\x00") == "a\ufffd"
