"""The ``celery`` action against a real Celery worker of a tiny app, over the local Redis
(broker and result backend) and RabbitMQ (sending)."""

from __future__ import annotations

import os
import subprocess
import sys
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from gnomon.actions.base import RunContext
from gnomon.actions.celery_task import CeleryAction, task_id
from gnomon.destinations import Destination, UnknownDestination
from gnomon.errors import InvalidAction
from gnomon.models import Outcome, RunStatus
from tests.servers import require

REDIS = "redis://127.0.0.1:6379/0"
AMQP = "amqp://guest:guest@127.0.0.1:5672//"
ROOT = Path(__file__).resolve().parents[3]


def ctx(job_id: str | None = None, *, timeout: float | None = 30.0, **kw: Any) -> RunContext:
    return RunContext(
        job_id=job_id or f"job-{uuid.uuid4().hex[:8]}",
        run_id=1,
        scheduled_for=datetime.now(UTC).replace(microsecond=0),
        attempt=1,
        timeout=timeout,
        **kw,
    )


def send(config: dict[str, Any], context: RunContext | None = None) -> Outcome:
    action = CeleryAction()
    return action.execute(action.validate(config), context or ctx())


@pytest.fixture(scope="module")
def worker(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """A real ``celery worker --pool solo`` of ``celery_app`` on a queue of its own."""
    require("redis")
    queue = f"gnomon-test-{uuid.uuid4().hex[:8]}"
    log = tmp_path_factory.mktemp("celery") / "worker.log"
    env = {**os.environ, "GNOMON_TEST_CELERY_BROKER": REDIS, "GNOMON_TEST_CELERY_BACKEND": REDIS}
    with log.open("wb") as out:
        proc = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "celery",
                "-A",
                "tests.integration.actions.celery_app",
                "worker",
                "--pool",
                "solo",
                "-Q",
                queue,
                "--without-gossip",
                "--without-mingle",
                "--without-heartbeat",
                "-l",
                "warning",
            ],
            cwd=ROOT,
            env=env,
            stdout=out,
            stderr=subprocess.STDOUT,
        )
    try:
        # Ready when it answers a task (waits on the result, bounded; no sleep).
        ready = send(
            {
                "task": "tests.add",
                "args": [0, 0],
                "broker": REDIS,
                "backend": REDIS,
                "queue": queue,
                "wait": 60,
            },
            ctx(timeout=60),
        )
        assert ready.status is RunStatus.SUCCEEDED, (ready.error, log.read_text())
        yield queue
    finally:
        proc.terminate()
        proc.wait(timeout=30)


def test_a_task_is_executed_and_its_result_recorded(worker: str) -> None:
    outcome = send(
        {"task": "tests.add", "args": [2, 3], "broker": REDIS, "backend": REDIS, "queue": worker}
    )
    assert outcome.status is RunStatus.SUCCEEDED, outcome.error
    assert outcome.result is not None
    assert outcome.result["result"] == 5
    assert outcome.result["state"] == "SUCCESS"


def test_kwargs_are_sent(worker: str) -> None:
    outcome = send(
        {
            "task": "tests.add",
            "kwargs": {"x": 40, "y": 2},
            "broker": REDIS,
            "backend": REDIS,
            "queue": worker,
        }
    )
    assert outcome.result is not None
    assert outcome.result["result"] == 42


def test_a_failed_task_is_the_runs_failure_with_the_remote_error(worker: str) -> None:
    outcome = send(
        {
            "task": "tests.boom",
            "args": ["disk full"],
            "broker": REDIS,
            "backend": REDIS,
            "queue": worker,
        }
    )
    assert outcome.status is RunStatus.FAILED
    assert outcome.error is not None
    assert outcome.error.endswith("FAILURE: ValueError: disk full")
    assert "\n" not in outcome.error


def test_the_task_id_is_derived_from_the_fire(worker: str) -> None:
    context = ctx()
    first = send(
        {"task": "tests.whoami", "broker": REDIS, "backend": REDIS, "queue": worker}, context
    )
    retry = RunContext(
        job_id=context.job_id,
        run_id=2,
        scheduled_for=context.scheduled_for,
        attempt=2,
        timeout=30.0,
    )
    again = send(
        {"task": "tests.whoami", "broker": REDIS, "backend": REDIS, "queue": worker}, retry
    )
    assert first.result is not None
    assert again.result is not None
    expected = task_id(context.job_id, context.environment()["GNOMON_SCHEDULED_FOR"])
    assert first.result["task_id"] == again.result["task_id"] == expected
    assert first.result["result"] == expected  # the worker saw that very id
    other = send({"task": "tests.whoami", "broker": REDIS, "queue": worker})
    assert other.result is not None
    assert other.result["task_id"] != expected


def test_without_a_backend_the_run_records_sent(worker: str) -> None:
    context = ctx()
    outcome = send({"task": "tests.add", "args": [1, 1], "broker": REDIS, "queue": worker}, context)
    assert outcome.status is RunStatus.SUCCEEDED, outcome.error
    tid = task_id(context.job_id, context.environment()["GNOMON_SCHEDULED_FOR"])
    assert outcome.result == {"task_id": tid, "state": "sent"}


def test_no_result_in_time_is_timed_out() -> None:
    require("redis")
    nobody = f"gnomon-test-idle-{uuid.uuid4().hex[:8]}"  # a queue no worker consumes
    outcome = send(
        {
            "task": "tests.add",
            "args": [1, 1],
            "broker": REDIS,
            "backend": REDIS,
            "queue": nobody,
            "wait": 0.3,
        }
    )
    assert outcome.status is RunStatus.TIMED_OUT
    assert outcome.error is not None
    assert "within 0.3 s (state PENDING)" in outcome.error


def test_a_named_destination_gives_the_broker_and_queue(worker: str) -> None:
    dest = Destination(name="math", url=REDIS, queue=worker)
    context = ctx(destinations=lambda name: dest)
    outcome = send(
        {"task": "tests.add", "args": [20, 22], "destination": "math", "backend": REDIS}, context
    )
    assert outcome.result is not None
    assert outcome.result["result"] == 42


def test_an_unknown_destination_fails_the_run_clearly() -> None:
    def nowhere(name: str) -> Destination:
        raise UnknownDestination(f"destination {name!r} is not defined")

    outcome = send({"task": "tests.add", "destination": "gone"}, ctx(destinations=nowhere))
    assert outcome.status is RunStatus.FAILED
    assert outcome.error == "destination 'gone' is not defined"


def test_sending_over_rabbitmq_is_confirmed() -> None:
    require("rabbitmq")
    from kombu import Connection, Queue

    queue = f"gnomon-test-{uuid.uuid4().hex[:8]}"
    with Connection(AMQP, connect_timeout=5) as conn:
        declared = Queue(queue, durable=True)(conn.channel())
        declared.declare()
        try:
            outcome = send(
                {
                    "task": "tests.add",
                    "args": [2, 3],
                    "kwargs": {},
                    "broker": AMQP,
                    "queue": queue,
                    "priority": 7,
                }
            )
            assert outcome.status is RunStatus.SUCCEEDED, outcome.error
            message = declared.get(no_ack=True)
            assert message is not None
            assert message.headers["task"] == "tests.add"
            assert message.headers["id"] == outcome.result["task_id"]  # type: ignore[index]
            assert message.content_type == "application/json"
            assert message.decode()[0] == [2, 3]
        finally:
            declared.delete()


def test_an_unreachable_broker_is_one_line_without_the_password() -> None:
    outcome = send(
        {"task": "tests.add", "broker": "amqp://me:s3cret-pass@127.0.0.1:1//"}, ctx(timeout=5)
    )
    assert outcome.status is RunStatus.FAILED
    assert outcome.error is not None
    assert "s3cret-pass" not in outcome.error
    assert "\n" not in outcome.error


@pytest.mark.parametrize(
    ("config", "message"),
    [
        (
            {},
            "celery action: task (the task's registered name, e.g. 'myapp.tasks.add') is required",
        ),
        (
            {"task": "t"},
            "celery action: broker (a broker URL) or destination (a named destination) is required",
        ),
        (
            {"task": "t", "broker": REDIS, "destination": "d"},
            "celery action: give broker or destination, not both",
        ),
        (
            {"task": "t", "broker": "http://x"},
            "celery action: broker 'http://x': scheme 'http' is "
            "not one of amqp, amqps, pyamqp, redis, rediss",
        ),
        (
            {"task": "t", "broker": REDIS, "args": {"a": 1}},
            "celery action: args must be a JSON list",
        ),
        (
            {"task": "t", "broker": REDIS, "kwargs": [1]},
            "celery action: kwargs must be a JSON object",
        ),
        (
            {"task": "t", "broker": REDIS, "priority": 256},
            "celery action: priority 256 must be a whole number 0-255",
        ),
        (
            {"task": "t", "broker": REDIS, "expires": -1},
            "celery action: expires -1 must be a positive number of seconds",
        ),
        (
            {"task": "t", "broker": REDIS, "wait": 5},
            "celery action: wait needs backend (a result backend to wait on)",
        ),
        ({"task": "t", "broker": REDIS, "bogus": 1}, "celery action: unknown field(s) bogus"),
        (
            {"task": "t", "destination": "no/slash"},
            "celery action: destination name 'no/slash' is "
            "not valid: use 1-100 letters, digits and _ . - (starting with a letter or digit)",
        ),
    ],
)
def test_bad_config_is_one_clear_line(config: dict[str, Any], message: str) -> None:
    with pytest.raises(InvalidAction) as caught:
        CeleryAction().validate(config)
    assert str(caught.value) == message


def test_it_runs_no_local_code() -> None:
    assert CeleryAction().runs_local_code({"task": "t"}) is False
