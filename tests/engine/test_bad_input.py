"""Bad input gives one clear ``GnomonError`` line naming the problem, and stores nothing.

Every case goes through the public ``Scheduler`` API (the CLI, REST API and MCP build jobs
through the same ``gnomon.definitions``), and counts jobs, runs and events before and after.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from gnomon import ActionSpec, GnomonError, Scheduler, python, shell
from gnomon.errors import (
    InvalidAction,
    InvalidPolicy,
    InvalidSpec,
    InvalidTrigger,
    JobExists,
    JobNotFound,
)
from tests.engine.conftest import T0

GOOD_ACTION = python("tests.engine.blocking:plain", 1)
EVERY_MINUTE = timedelta(minutes=1)


def stored(scheduler: Scheduler) -> tuple[int, int, int]:
    """(jobs, runs, events) in the store."""
    store = scheduler.store
    return (
        store.count_jobs(),
        len(store.list_runs(limit=100_000)),
        len(store.list_events(limit=100_000)),
    )


def refused(
    scheduler: Scheduler, call: Callable[[], Any], error: type[GnomonError], pattern: str
) -> GnomonError:
    """Run ``call``; check it raised ``error`` as one line matching ``pattern`` and that the
    store did not change."""
    before = stored(scheduler)
    with pytest.raises(error) as caught:
        call()
    message = str(caught.value)
    assert message
    assert "\n" not in message, message
    assert re.search(pattern, message), message
    assert stored(scheduler) == before
    return caught.value


@pytest.fixture
def scheduler(make_scheduler: Callable[..., Scheduler]) -> Scheduler:
    """A scheduler that already holds one job and its history, so "nothing stored" is
    checked against a store that is not empty."""
    made = make_scheduler()
    made.add(EVERY_MINUTE, GOOD_ACTION, id="existing")
    made.trigger("existing")
    return made


# -- actions -------------------------------------------------------------------------------


def test_unknown_action_kind(scheduler: Scheduler) -> None:
    error = refused(
        scheduler,
        lambda: scheduler.add(EVERY_MINUTE, ActionSpec(kind="teleport"), id="job"),
        InvalidAction,
        r"unknown action kind 'teleport'; known kinds: .*python.*shell",
    )
    assert isinstance(error, ValueError)  # InvalidSpec is also a ValueError


@pytest.mark.parametrize(
    "ref",
    [
        pytest.param("nodots", id="no-colon"),
        pytest.param("a.b:", id="no-attribute"),
        pytest.param("1x:y", id="bad-module-name"),
        pytest.param(":func", id="no-module"),
        pytest.param("a b:c", id="space"),
        pytest.param("", id="empty"),
    ],
)
def test_malformed_callable_reference(scheduler: Scheduler, ref: str) -> None:
    refused(
        scheduler,
        lambda: scheduler.add(EVERY_MINUTE, python(ref), id="job"),
        InvalidAction,
        rf"callable reference {re.escape(repr(ref))} is malformed; write it as "
        r"'package.module:function'",
    )


@pytest.mark.parametrize(
    ("ref", "pattern"),
    [
        pytest.param(
            "no_such_module_gnomon:run",
            r"cannot import 'no_such_module_gnomon'",
            id="missing-module",
        ),
        pytest.param(
            "tests.engine.blocking:no_such_function",
            r"has no attribute 'no_such_function'",
            id="missing-attribute",
        ),
        pytest.param(
            "tests.engine.blocking:NOT_CALLABLE",
            r"'tests.engine.blocking:NOT_CALLABLE' is not callable",
            id="not-callable",
        ),
    ],
)
def test_reference_to_something_missing(scheduler: Scheduler, ref: str, pattern: str) -> None:
    refused(
        scheduler,
        lambda: scheduler.add(EVERY_MINUTE, python(ref), id="job"),
        InvalidAction,
        pattern,
    )


@pytest.mark.parametrize(
    ("source", "pattern"),
    [
        pytest.param("raise RuntimeError('broken at import')", r"broken at import", id="raises"),
        pytest.param("def broken(:\n", r"SyntaxError|invalid syntax", id="syntax-error"),
    ],
)
def test_reference_to_a_module_that_fails_to_import(
    scheduler: Scheduler,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    source: str,
    pattern: str,
) -> None:
    name = f"gnomon_broken_{abs(hash(source))}"
    (tmp_path / f"{name}.py").write_text(source)
    monkeypatch.syspath_prepend(str(tmp_path))
    refused(
        scheduler,
        lambda: scheduler.add(EVERY_MINUTE, python(f"{name}:run"), id="job"),
        InvalidAction,
        rf"python action: .*{pattern}",
    )


def test_python_arguments_must_be_json(scheduler: Scheduler) -> None:
    refused(
        scheduler,
        lambda: scheduler.add(EVERY_MINUTE, python("tests.engine.blocking:plain", {1, 2}), id="j"),
        InvalidAction,
        r"python action: args and kwargs must be JSON",
    )


def test_a_lambda_cannot_be_scheduled(scheduler: Scheduler) -> None:
    refused(
        scheduler,
        lambda: scheduler.add(EVERY_MINUTE, lambda: None, id="job"),
        InvalidAction,
        r"cannot be referenced by import path; use a module-level function",
    )


@pytest.mark.parametrize(
    ("action", "pattern"),
    [
        pytest.param(
            shell("echo hello world"),
            r"argv must be a list of strings, not one shell string",
            id="argv-string",
        ),
        pytest.param(shell([]), r"argv must be a non-empty list of strings", id="argv-empty"),
        pytest.param(
            ActionSpec(kind="shell", config={"argv": ["true"], "shell": True}),
            r"shell action: unknown field\(s\) shell",
            id="unknown-field",
        ),
        pytest.param(
            shell(["true"], timeout=-1), r"timeout -1 must be a positive number", id="timeout"
        ),
    ],
)
def test_bad_shell_action(scheduler: Scheduler, action: ActionSpec, pattern: str) -> None:
    refused(
        scheduler, lambda: scheduler.add(EVERY_MINUTE, action, id="job"), InvalidAction, pattern
    )


# -- schedules -----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("when", "pattern"),
    [
        pytest.param(
            timedelta(seconds=-5), r"interval: -5 seconds must be more than zero", id="td"
        ),
        pytest.param(timedelta(0), r"interval: 0 seconds must be more than zero", id="td-zero"),
        pytest.param("every -5s", r"'every -5s'", id="text-refused"),
        pytest.param(
            "every -5s",
            r"'every -5s'.*(more than zero|negative)",
            id="text",
        ),
        pytest.param("every 0 minutes", r"the amount must be more than zero", id="text-zero"),
    ],
)
def test_negative_or_zero_interval(scheduler: Scheduler, when: object, pattern: str) -> None:
    refused(
        scheduler,
        lambda: scheduler.add(when, GOOD_ACTION, id="job"),  # type: ignore[arg-type]
        InvalidTrigger,
        pattern,
    )


def test_naive_datetime(scheduler: Scheduler) -> None:
    refused(
        scheduler,
        lambda: scheduler.add(datetime(2026, 6, 1, 12, 0), GOOD_ACTION, id="job"),
        InvalidSpec,
        r"one-shot time 2026-06-01T12:00:00 has no time zone; give an offset",
    )


def test_one_shot_in_the_past(scheduler: Scheduler) -> None:
    refused(
        scheduler,
        lambda: scheduler.add(T0 - timedelta(seconds=1), GOOD_ACTION, id="job"),
        InvalidTrigger,
        r"one-shot time .* is not in the future",
    )


@pytest.mark.parametrize(
    "when",
    [
        pytest.param("whenever you like", id="text"),
        pytest.param(timedelta(minutes=5), id="interval"),
        pytest.param(T0 + timedelta(days=1), id="one-shot"),
    ],
)
def test_unknown_time_zone(scheduler: Scheduler, when: object) -> None:
    refused(
        scheduler,
        lambda: scheduler.add(when, GOOD_ACTION, id="job", tz="Mars/Olympus_Mons"),  # type: ignore[arg-type]
        InvalidTrigger,
        r"unknown time zone 'Mars/Olympus_Mons'",
    )


def test_unreadable_schedule(scheduler: Scheduler) -> None:
    refused(
        scheduler,
        lambda: scheduler.add("whenever you like", GOOD_ACTION, id="job"),
        InvalidTrigger,
        r"'whenever you like'",
    )


# -- policies ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("options", "error", "pattern"),
    [
        pytest.param(
            {"max_attempts": 0}, InvalidPolicy, r"max_attempts: 0 must be 1 or more", id="attempts"
        ),
        pytest.param(
            {"timeout": -1.0}, InvalidPolicy, r"timeout: -1.0 must be more than zero", id="timeout"
        ),
        pytest.param({"timeout": 0}, InvalidPolicy, r"timeout: 0", id="timeout-zero"),
        pytest.param(
            {"misfire": "sometimes"},
            InvalidPolicy,
            r"misfire: 'sometimes' is not one of skip, latest, all",
            id="misfire",
        ),
        pytest.param(
            {"overlap": "never"},
            InvalidPolicy,
            r"overlap: 'never' is not one of allow, skip, queue, replace",
            id="overlap",
        ),
        pytest.param({"backoff": -2}, InvalidPolicy, r"backoff: -2", id="backoff"),
        pytest.param({"grace": float("nan")}, InvalidPolicy, r"grace: nan", id="grace-nan"),
        pytest.param({"catchup_cap": 0}, InvalidPolicy, r"catchup_cap: 0", id="catchup-cap"),
        pytest.param(
            {"max_attempts": "3"}, InvalidPolicy, r"max_attempts: '3'", id="attempts-text"
        ),
        pytest.param({"backoff": "fast"}, InvalidPolicy, r"backoff: 'fast'", id="backoff-text"),
        pytest.param({"timeout": "5"}, InvalidPolicy, r"timeout: '5'", id="timeout-text"),
        pytest.param(
            {"retries": 3}, InvalidSpec, r"unknown job option\(s\): retries", id="unknown-option"
        ),
    ],
)
def test_bad_policy_value(
    scheduler: Scheduler, options: dict[str, Any], error: type[GnomonError], pattern: str
) -> None:
    refused(
        scheduler,
        lambda: scheduler.add(EVERY_MINUTE, GOOD_ACTION, id="job", **options),
        error,
        pattern,
    )


def test_bad_policy_given_as_a_mapping(scheduler: Scheduler) -> None:
    refused(
        scheduler,
        lambda: scheduler.add(EVERY_MINUTE, GOOD_ACTION, id="job", policy={"attempts": 3}),
        InvalidPolicy,
        r"unknown policy field\(s\): attempts; known: ",
    )


# -- ids -----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "job_id",
    [
        pytest.param("has space", id="space"),
        pytest.param("", id="empty"),
        pytest.param("-leading-dash", id="leading-dash"),
        pytest.param("x" * 201, id="too-long"),
        pytest.param("nul\x00byte", id="nul"),
        pytest.param("team/nightly", id="slash"),  # an id is one path segment of the API
    ],
)
def test_invalid_job_id(scheduler: Scheduler, job_id: str) -> None:
    refused(
        scheduler,
        lambda: scheduler.add(EVERY_MINUTE, GOOD_ACTION, id=job_id),
        InvalidSpec,
        r"job id .* is not valid",
    )


@pytest.mark.parametrize(
    ("name", "pattern"),
    [
        pytest.param(
            "x" * 501, r"job name of 501 characters is too long \(at most 500\)", id="long"
        ),
        pytest.param("a\x00b", r"job name 'a\\x00b' contains a control character", id="nul"),
        pytest.param("line\nbreak", r"contains a control character", id="newline"),
    ],
)
def test_invalid_job_name(scheduler: Scheduler, name: str, pattern: str) -> None:
    """The name column holds 500 characters, and PostgreSQL TEXT no NUL: a raw driver error
    (or, on SQLite, a name that breaks one-line output) unless refused here."""
    refused(
        scheduler,
        lambda: scheduler.add(EVERY_MINUTE, GOOD_ACTION, id="job", name=name),
        InvalidSpec,
        pattern,
    )


def test_a_default_name_is_one_clean_line(scheduler: Scheduler) -> None:
    job = scheduler.add(EVERY_MINUTE, shell(["printf", "a\x00b\n", "x" * 600]), id="job")
    assert job.name.startswith("printf a b  xxx")
    assert len(job.name) == 200
    assert scheduler.get("job").name == job.name


def test_duplicate_job_id(scheduler: Scheduler) -> None:
    refused(
        scheduler,
        lambda: scheduler.add(EVERY_MINUTE, GOOD_ACTION, id="existing"),
        JobExists,
        r"a job with id 'existing' already exists",
    )


@pytest.mark.parametrize(
    "operation",
    [
        pytest.param(lambda s: s.get("ghost"), id="get"),
        pytest.param(lambda s: s.pause("ghost"), id="pause"),
        pytest.param(lambda s: s.resume("ghost"), id="resume"),
        pytest.param(lambda s: s.remove("ghost"), id="remove"),
        pytest.param(lambda s: s.trigger("ghost"), id="trigger"),
        pytest.param(lambda s: s.runs("ghost"), id="runs"),
        pytest.param(lambda s: s.update("ghost", name="x"), id="update"),
    ],
)
def test_unknown_job_id(scheduler: Scheduler, operation: Callable[[Scheduler], Any]) -> None:
    error = refused(scheduler, lambda: operation(scheduler), JobNotFound, r"no job with id 'ghost'")
    assert isinstance(error, LookupError)
    assert error.job_id == "ghost"  # type: ignore[attr-defined]


# -- updates -------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("changes", "error", "pattern"),
    [
        pytest.param({"when": timedelta(seconds=-1)}, InvalidTrigger, r"more than zero", id="when"),
        pytest.param(
            {"action": ActionSpec(kind="teleport")}, InvalidAction, r"'teleport'", id="action"
        ),
        pytest.param({"max_attempts": 0}, InvalidPolicy, r"max_attempts: 0", id="policy"),
        pytest.param({"retries": 2}, InvalidSpec, r"unknown job option", id="option"),
    ],
)
def test_a_bad_update_changes_nothing(
    scheduler: Scheduler, changes: dict[str, Any], error: type[GnomonError], pattern: str
) -> None:
    before = scheduler.get("existing")
    refused(scheduler, lambda: scheduler.update("existing", **changes), error, pattern)
    assert scheduler.get("existing") == before


def test_update_refuses_a_bad_name(scheduler: Scheduler) -> None:
    refused(
        scheduler,
        lambda: scheduler.update("existing", name="x" * 501),
        InvalidSpec,
        r"job name of 501 characters is too long",
    )
