"""The worker's run path takes shortcuts (references parsed once, no walk of the config when
a run reports nothing, no JSON round trip of a None result): none of them shows."""

from __future__ import annotations

import json
import re
import sys
import types
from datetime import UTC, datetime
from typing import Any

import pytest

from gnomon import redaction
from gnomon.actions.python import _jsonable
from gnomon.clock import FakeClock
from gnomon.errors import InvalidAction
from gnomon.models import ActionSpec, Outcome, Policy, Run, RunReason, RunStatus
from gnomon.redaction import redact_text, register_secret, secret_values
from gnomon.references import resolve
from gnomon.runner import execute_run
from gnomon.store.rows import ClaimedRun

HERE = __name__
NOW = datetime(2026, 1, 1, tzinfo=UTC)


def quiet() -> None:
    return None


def echo(*args: Any, **kwargs: Any) -> Any:
    return {"args": list(args), "kwargs": kwargs}


def shout(**kwargs: Any) -> Any:
    raise RuntimeError(f"bad call with {kwargs}")


def tell(**kwargs: Any) -> Outcome:
    return Outcome.success(output=f"called with {kwargs}")


def claimed(ref: str, **config: Any) -> ClaimedRun:
    run = Run(
        id=7,
        job_id="j",
        scheduled_for=NOW,
        due_at=NOW,
        attempt=1,
        reason=RunReason.SCHEDULE,
        status=RunStatus.RUNNING,
        created_at=NOW,
        started_at=NOW,
        worker="w",
    )
    spec = ActionSpec(kind="python", config={"ref": ref, "args": [], "kwargs": {}, **config})
    return ClaimedRun(run=run, action=spec, policy=Policy())


def run(ref: str, **config: Any) -> Any:
    return execute_run(claimed(ref, **config), clock=FakeClock(NOW), worker="w")


# -- references: the text is remembered, never the module or the function -----------------


@pytest.fixture
def module(monkeypatch: pytest.MonkeyPatch) -> types.ModuleType:
    made = types.ModuleType("gnomon_test_refs")
    made.f = lambda: 1  # type: ignore[attr-defined]
    monkeypatch.setitem(sys.modules, "gnomon_test_refs", made)
    return made


def test_a_function_replaced_in_its_module_is_the_one_resolved(
    module: types.ModuleType, monkeypatch: pytest.MonkeyPatch
) -> None:
    assert resolve("gnomon_test_refs:f")() == 1
    monkeypatch.setattr(module, "f", lambda: 2)
    assert resolve("gnomon_test_refs:f")() == 2


def test_a_module_imported_again_is_the_one_resolved(
    module: types.ModuleType, monkeypatch: pytest.MonkeyPatch
) -> None:
    assert resolve("gnomon_test_refs:f")() == 1
    again = types.ModuleType("gnomon_test_refs")
    again.f = lambda: 3  # type: ignore[attr-defined]
    monkeypatch.setitem(sys.modules, "gnomon_test_refs", again)
    assert resolve("gnomon_test_refs:f")() == 3


def test_an_attribute_removed_since_fails_as_before(
    module: types.ModuleType, monkeypatch: pytest.MonkeyPatch
) -> None:
    assert resolve("gnomon_test_refs:f")() == 1
    monkeypatch.delattr(module, "f")
    expected = "callable 'gnomon_test_refs:f': module 'gnomon_test_refs' has no attribute 'f'"
    with pytest.raises(InvalidAction, match=re.escape(expected)):
        resolve("gnomon_test_refs:f")


def test_a_module_gone_since_fails_as_before(module: types.ModuleType) -> None:
    assert resolve("gnomon_test_refs:f")() == 1
    sys.modules.pop("gnomon_test_refs")  # and nowhere to import it from
    with pytest.raises(InvalidAction, match="cannot import 'gnomon_test_refs'"):
        resolve("gnomon_test_refs:f")


@pytest.mark.parametrize("ref", ["no colon", "a:", ":b", "a:b c", 42, None, ["a:b"]])
def test_a_malformed_reference_fails_every_time(ref: Any) -> None:
    for _ in range(2):
        with pytest.raises(InvalidAction, match="is malformed"):
            resolve(ref)


def test_a_dotted_attribute_path_resolves(module: types.ModuleType) -> None:
    module.inner = types.SimpleNamespace(g=lambda: 4)  # type: ignore[attr-defined]
    assert resolve("gnomon_test_refs:inner.g")() == 4


# -- redaction: the same masks, found more cheaply -----------------------------------------


def old_secret_values(value: Any, extra_keys: frozenset[str] = frozenset()) -> set[str]:
    """The walk as it was before it was made cheaper: the reference to compare with."""
    found: set[str] = set()
    if isinstance(value, dict):
        for key, item in value.items():
            if (redaction._SECRET_KEY.search(str(key)) or key in extra_keys) and isinstance(
                item, str
            ):
                found.add(item)
                if " " in item:
                    found.add(item.split(" ", 1)[1])
            else:
                found |= old_secret_values(item, extra_keys)
    elif isinstance(value, list | tuple):
        for item in value:
            found |= old_secret_values(item, extra_keys)
    elif isinstance(value, str):
        found |= {m.group(1) for m in redaction._URL_PASSWORD.finditer(value)}
    return {v for v in found if len(v) >= 4}


CONFIGS: list[Any] = [
    {"ref": "bench.noop:noop", "args": [], "kwargs": {}},
    {"url": "https://user:hunter22@example.com/x", "headers": {"Authorization": "Bearer abcdef"}},
    {"password": {"nested": "not-a-secret-by-key", "api_key": "k3y-value"}},
    {"token": 1234, "list": [{"secret": "s3cr3t!"}, "ftp://a:pw12@h", ("x://u:p@h",)]},
    {"Cookie": "abc", "cookie": "abcd efgh", "session_id": "sess-1234", "plain": "value"},
    {"field": "some value", 3: "int key", "signature": "sig value"},
    ["redis://:longpassword@host:6379/0", {"private-key": "-----BEGIN"}],
    "mysql://root:rootpass@db/x",
    None,
]


@pytest.mark.parametrize("value", CONFIGS)
@pytest.mark.parametrize("extra", [frozenset(), frozenset({"field", "plain"})])
def test_secret_values_finds_what_it_found_before(value: Any, extra: frozenset[str]) -> None:
    assert secret_values(value, extra) == old_secret_values(value, extra)


def test_a_secret_registered_later_is_masked_too() -> None:
    text = "the value gnomon-late-secret-1 and gnomon-late-secret-12 shown"
    assert redact_text(text) == text
    register_secret("gnomon-late-secret-1")
    register_secret("gnomon-late-secret-12")  # longer, holding the shorter: masked first
    assert redact_text(text) == "the value *** and *** shown"


def test_url_passwords_are_masked_in_text() -> None:
    assert redact_text("see https://me:pa55word@host/x") == "see https://me:***@host/x"
    assert redact_text("") == ""
    assert redact_text("no url: here") == "no url: here"


def test_is_secret_key_answers_alike_when_asked_again() -> None:
    for _ in range(2):
        assert redaction.is_secret_key("X-Api-Key")
        assert not redaction.is_secret_key("ref")


# -- the runner: shortcuts only where there is nothing to mask -----------------------------


def test_a_run_that_reports_nothing_records_nothing() -> None:
    finished = run(f"{HERE}:quiet", kwargs={})
    assert finished.status is RunStatus.SUCCEEDED
    assert (finished.result, finished.error, finished.output) == (None, None, "")


def test_secrets_of_the_config_echoed_in_a_result_are_masked() -> None:
    finished = run(f"{HERE}:echo", args=["Bearer tok-12345"], kwargs={"token": "tok-12345"})
    assert finished.status is RunStatus.SUCCEEDED
    assert "tok-12345" not in repr(finished.result)
    assert finished.result == {"args": ["Bearer ***"], "kwargs": {"token": "***"}}


def test_secrets_of_the_config_echoed_in_an_error_are_masked() -> None:
    finished = run(f"{HERE}:shout", kwargs={"password": "pw-secret-9", "url": "https://u:pw99@h"})
    assert finished.status is RunStatus.FAILED
    assert finished.error is not None
    assert "pw-secret-9" not in finished.error
    assert "pw99" not in finished.error
    assert finished.error.startswith("RuntimeError: bad call with")


def test_secrets_of_the_config_echoed_in_output_are_masked() -> None:
    finished = run(f"{HERE}:tell", kwargs={"api_key": "key-abc-123"})
    assert finished.output == "called with {'api_key': '***'}"


@pytest.mark.parametrize(
    "value", [None, "text", "", True, False, 1.5, float("nan"), 3, [1, "a"], {"k": None}]
)
def test_a_json_result_is_kept_as_it_is(value: Any) -> None:
    got = _jsonable(value)
    assert got is value


@pytest.mark.parametrize("value", [object(), {1, 2}, b"bytes", [1, object()]])
def test_a_result_that_is_not_json_is_its_repr(value: Any) -> None:
    with pytest.raises(TypeError):
        json.dumps(value)
    assert _jsonable(value) == repr(value)
