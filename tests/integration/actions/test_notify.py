"""The ``notify`` action through real apprise to a local JSON webhook (``json://``)."""

from __future__ import annotations

import json
import sys
from collections.abc import Iterator
from typing import Any

import pytest

from gnomon.actions.notify import NotifyAction, _secret_parts, _target, load_apprise
from gnomon.errors import InvalidAction
from gnomon.models import Outcome, RunStatus
from gnomon.settings import Settings
from tests.integration.actions.test_http import CANARY, LocalServer, ctx, shown


@pytest.fixture
def hook() -> Iterator[LocalServer]:
    srv = LocalServer("127.0.0.1")
    yield srv
    srv.close()


def run(config: dict[str, Any], allow: tuple[str, ...] = ("127.0.0.1",), **kw: Any) -> Outcome:
    action = NotifyAction(Settings(http_allow=allow))
    return action.execute(action.validate(config), ctx(**kw))


def test_delivers_title_body_and_type(hook: LocalServer) -> None:
    url = f"json://127.0.0.1:{hook.port}/echo"
    outcome = run({"urls": [url], "title": "Backup", "body": "exit 1", "type": "failure"})
    assert outcome.status is RunStatus.SUCCEEDED, outcome.error
    sent = json.loads(hook.requests[-1]["body"])
    assert (sent["title"], sent["message"], sent["type"]) == ("Backup", "exit 1", "failure")
    assert outcome.result == {
        "targets": [
            {"target": f"json://127.0.0.1:{hook.port}", "service": "JSON", "status": "sent"}
        ]
    }


def test_one_failing_target_fails_the_run_and_says_which(hook: LocalServer) -> None:
    good = f"json://127.0.0.1:{hook.port}/echo"
    bad = f"json://127.0.0.1:{hook.port}/status/500"
    outcome = run({"urls": [good, bad], "body": "hello"})
    assert outcome.status is RunStatus.FAILED
    assert outcome.error is not None
    assert outcome.error.startswith(f"1 of 2 targets failed: json://127.0.0.1:{hook.port}: ")
    assert [t["status"] for t in outcome.result["targets"]] == ["sent", "failed"]
    assert len(hook.requests) == 2


def test_unreachable_target_is_a_failure() -> None:
    outcome = run({"urls": ["json://127.0.0.1:1/hook"], "body": "hello"})
    assert outcome.status is RunStatus.FAILED
    assert outcome.result["targets"][0]["status"] == "failed"
    assert "json://127.0.0.1:1: " in (outcome.error or "")


def test_timeout_gives_timed_out(hook: LocalServer) -> None:
    url = f"json://127.0.0.1:{hook.port}/hang"
    outcome = run({"urls": [url, url], "body": "hello", "timeout": 0.3})
    assert outcome.status is RunStatus.TIMED_OUT
    assert (outcome.error or "").startswith("timed out after 0.3 s")
    assert [t["status"] for t in outcome.result["targets"]] == ["timed out", "not sent"]


def test_cancelled_before_sending(hook: LocalServer) -> None:
    action = NotifyAction(Settings(http_allow=("127.0.0.1",)))
    context = ctx()
    context.cancelled.set()
    config = action.validate({"urls": [f"json://127.0.0.1:{hook.port}/echo"], "body": "x"})
    outcome = action.execute(config, context)
    assert outcome.status is RunStatus.CANCELLED
    assert hook.requests == []


def test_internal_hosts_refused_by_default(hook: LocalServer) -> None:
    outcome = run({"urls": [f"json://127.0.0.1:{hook.port}/echo"], "body": "x"}, allow=())
    assert outcome.status is RunStatus.FAILED
    assert outcome.result["targets"][0]["status"] == "refused"
    assert "loopback address" in (outcome.error or "")
    assert hook.requests == []


def test_canary_tokens_never_appear_in_the_outcome(hook: LocalServer) -> None:
    sent_ok = f"json://user:{CANARY}@127.0.0.1:{hook.port}/echo?+X-Token={CANARY}h"
    fails = f"json://127.0.0.1:{hook.port}/status/500?+X-Token={CANARY}f"
    outcome = run({"urls": [sent_ok, fails], "body": "hello"})
    assert outcome.status is RunStatus.FAILED
    assert hook.requests[0]["headers"]["X-Token"] == f"{CANARY}h"
    assert CANARY not in shown(outcome)


def test_token_services_are_recorded_by_scheme_only() -> None:
    apprise = load_apprise()
    url = f"tgram://123456789:{CANARY}/987654"
    plugin = apprise.Apprise.instantiate(url)
    assert _target(url, plugin) == "tgram"
    assert {CANARY, "123456789"} <= {p for s in _secret_parts(url, plugin) for p in s.split(":")}


def test_secret_fields_mask_the_stored_urls() -> None:
    from gnomon.redaction import redact

    action = NotifyAction()
    config = action.validate({"urls": f"tgram://123456789:{CANARY}/987654", "body": "x"})
    assert config["urls"] == [f"tgram://123456789:{CANARY}/987654"]
    assert CANARY not in json.dumps(redact(config, action.secret_fields))


@pytest.mark.parametrize(
    ("config", "message"),
    [
        ({"body": "x"}, "urls is required"),
        ({"urls": [], "body": "x"}, "urls is required"),
        ({"urls": {"a": 1}, "body": "x"}, "urls is required"),
        ({"urls": ["not a url"], "body": "x"}, "urls[0] must be an apprise URL"),
        ({"urls": ["json://h/x", 5], "body": "x"}, "urls[1] must be an apprise URL"),
        ({"urls": [f"nonsense://{CANARY}"], "body": "x"}, "urls[0]: apprise cannot use"),
        ({"urls": ["json://h/x"]}, "body is required"),
        ({"urls": ["json://h/x"], "body": ""}, "body is required"),
        ({"urls": ["json://h/x"], "body": "x", "title": 3}, "title must be a string"),
        ({"urls": ["json://h/x"], "body": "x", "type": "panic"}, "type 'panic' must be one of"),
        ({"urls": ["json://h/x"], "body": "x", "timeout": -1}, "timeout -1 must be a positive"),
        ({"urls": ["json://h/x"], "body": "x", "tag": "a"}, "unknown field(s) tag"),
    ],
)
def test_bad_config_is_refused(config: dict[str, Any], message: str) -> None:
    with pytest.raises(InvalidAction) as info:
        NotifyAction().validate(config)
    text = str(info.value)
    assert text.startswith("notify action: ")
    assert message in text
    assert CANARY not in text


def test_missing_apprise_is_a_clear_invalid_action(monkeypatch: pytest.MonkeyPatch) -> None:
    import gnomon.actions.notify as notify_module

    monkeypatch.setattr(notify_module, "_apprise", None)  # forget the loaded module
    monkeypatch.setitem(sys.modules, "apprise", None)  # makes `import apprise` fail
    with pytest.raises(InvalidAction, match=r"pip install 'gnomon\[notify\]'"):
        NotifyAction().validate({"urls": ["json://h/x"], "body": "x"})


def test_registry_finds_the_action() -> None:
    from gnomon.actions.registry import validate_action

    spec = validate_action("notify", {"urls": ["json://h/x"], "body": "x"})
    assert spec.config["type"] == "info"
