"""The sequence action: a DAG of steps, outputs passed on, per-step retries, stop/continue."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import pytest

from gnomon.actions.base import RunContext
from gnomon.actions.sequence import SequenceAction
from gnomon.errors import InvalidAction
from gnomon.models import RunStatus
from tests.engine import seqsteps

REF = "tests.engine.seqsteps"


def py(func: str, *args: Any) -> dict[str, Any]:
    return {"kind": "python", "config": {"ref": f"{REF}:{func}", "args": list(args)}}


def diamond(on_failure: str = "stop", c_attempts: int = 1) -> dict[str, Any]:
    """a -> (b, c) -> d; d receives b's and c's results."""
    return {
        "on_failure": on_failure,
        "steps": [
            {
                "id": "d",
                "needs": ["b", "c"],
                "action": py("combine", "d", "{{steps.b.result}}", "{{steps.c.result}}"),
            },
            {"id": "a", "action": py("step", "a", {"n": 41})},
            {"id": "b", "needs": ["a"], "action": py("step", "b", "{{steps.a.result.n}}")},
            {
                "id": "c",
                "needs": ["a"],
                "action": py("flaky", "c"),
                "max_attempts": c_attempts,
                "backoff": 0,
            },
        ],
    }


def ctx() -> RunContext:
    return RunContext(
        job_id="seq", run_id=1, scheduled_for=datetime(2026, 1, 1, tzinfo=UTC), attempt=1
    )


@pytest.fixture(autouse=True)
def _reset() -> None:
    seqsteps.calls.clear()
    seqsteps.failures_left.clear()


def run(config: dict[str, Any]) -> Any:
    action = SequenceAction()
    return action.execute(action.validate(config), ctx())


def test_diamond_runs_in_dependency_order_and_passes_outputs() -> None:
    outcome = run(diamond())
    assert outcome.status is RunStatus.SUCCEEDED
    assert seqsteps.calls == ["a", "b", "c", "d"]
    assert outcome.result["order"] == ["a", "b", "c", "d"]
    assert outcome.result["steps"]["b"]["result"] == 41  # a whole placeholder keeps its type
    assert outcome.result["steps"]["d"]["result"] == {"left": 41, "right": "c ok"}


def test_failed_step_stops_the_sequence() -> None:
    seqsteps.failures_left["c"] = 5
    outcome = run(diamond("stop"))
    assert outcome.status is RunStatus.FAILED
    steps = outcome.result["steps"]
    assert [steps[s]["status"] for s in "abcd"] == ["succeeded", "succeeded", "failed", "skipped"]
    assert "c" in outcome.error
    assert seqsteps.calls == ["a", "b", "c"]


def test_continue_runs_every_step_whose_needs_succeeded() -> None:
    config = diamond("continue")
    config["steps"][2]["action"] = py("flaky", "b")  # b fails, c still runs, d is blocked
    seqsteps.failures_left["b"] = 5
    outcome = run(config)
    steps = outcome.result["steps"]
    assert [steps[s]["status"] for s in "abcd"] == ["succeeded", "failed", "succeeded", "skipped"]
    assert "needs b" in steps["d"]["error"]
    assert outcome.status is RunStatus.FAILED


def test_retry_of_one_step_does_not_rerun_the_others() -> None:
    seqsteps.failures_left["c"] = 2
    outcome = run(diamond(c_attempts=3))
    assert outcome.status is RunStatus.SUCCEEDED
    assert outcome.result["steps"]["c"]["attempts"] == 3
    assert seqsteps.calls == ["a", "b", "c", "c", "c", "d"]


@pytest.mark.parametrize(
    ("steps", "message"),
    [
        pytest.param(
            [
                {"id": "a", "needs": ["b"], "action": py("step", "a")},
                {"id": "b", "needs": ["a"], "action": py("step", "b")},
            ],
            "cycle",
            id="cyclic",
        ),
        pytest.param(
            [{"id": "a", "needs": ["zz"], "action": py("step", "a")}],
            "unknown step 'zz'",
            id="unknown-need",
        ),
        pytest.param(
            [{"id": "a", "action": py("step")}, {"id": "a", "action": py("step")}],
            "duplicate step id",
            id="duplicate-id",
        ),
        pytest.param(
            [{"id": "a", "action": {"kind": "nope", "config": {}}}],
            "unknown action kind 'nope'",
            id="unknown-kind",
        ),
        pytest.param(
            [{"id": "a", "action": {"kind": "python", "config": {"ref": "bad"}}}],
            r"step 1 \(a\)",
            id="bad-step-config",
        ),
        pytest.param([], "non-empty", id="empty"),
    ],
)
def test_bad_sequences_are_refused_at_creation(steps: list[Any], message: str) -> None:
    with pytest.raises(InvalidAction, match=message):
        SequenceAction().validate({"steps": steps})
