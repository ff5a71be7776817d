"""Issue 14: a function of the running script (``__main__``) is referenced by name and found
in this process only; elsewhere its reference fails with one clear, permanent error."""

from __future__ import annotations

import pytest

from gnomon.errors import InvalidAction
from gnomon.references import reference_of, resolve
from gnomon.settings import python_path


def test_a_script_function_resolves_in_the_process_that_scheduled_it() -> None:
    def nightly() -> str:
        return "ran"

    nightly.__module__, nightly.__qualname__ = "__main__", "nightly_in_script"
    assert reference_of(nightly) == "__main__:nightly_in_script"
    assert resolve("__main__:nightly_in_script") is nightly


def test_an_unregistered_script_function_is_a_clear_error() -> None:
    with pytest.raises(InvalidAction) as caught:
        resolve("__main__:never_scheduled_here")
    assert str(caught.value).startswith(
        "function never_scheduled_here is defined in a script (__main__) and is only "
        "available while that script runs the scheduler"
    )


def test_nested_functions_are_still_refused() -> None:
    def outer() -> object:
        def inner() -> None: ...

        return inner

    with pytest.raises(InvalidAction, match="cannot be referenced"):
        reference_of(outer())  # type: ignore[arg-type]


def test_python_path_is_gnomon_pythonpath_then_the_current_directory(
    monkeypatch: pytest.MonkeyPatch, tmp_path: object
) -> None:
    monkeypatch.chdir(str(tmp_path))
    assert python_path({}) == (str(tmp_path),)
    assert python_path({"GNOMON_PYTHONPATH": f"/opt/jobs::lib:{tmp_path}"}) == (
        "/opt/jobs",
        f"{tmp_path}/lib",
        str(tmp_path),
    )
