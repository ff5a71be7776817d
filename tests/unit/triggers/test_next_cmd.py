"""``gnomon next``: built on a bare Typer app, as the CLI owner will register it."""

from __future__ import annotations

import json

import pytest
import typer
from typer.testing import CliRunner

from gnomon.cli import next_cmd


@pytest.fixture
def run() -> typer.Typer:
    app = typer.Typer()
    next_cmd.register(app)

    @app.callback()
    def _root() -> None:
        """Keep ``next`` a sub-command, as in the real app."""

    return app


def invoke(app: typer.Typer, *args: str) -> tuple[int, str, str]:
    result = CliRunner().invoke(app, ["next", *args])
    return result.exit_code, result.stdout, result.stderr


def test_json_lists_fires_in_utc(run: typer.Typer) -> None:
    code, out, _ = invoke(
        run,
        "0 9 * * 1-5",
        "--tz",
        "Europe/Berlin",
        "--after",
        "2026-11-23T00:00",
        "--count",
        "3",
        "--json",
    )
    assert code == 0
    assert json.loads(out) == {
        "description": "At 09:00, Monday through Friday (Europe/Berlin)",
        "fires": ["2026-11-23T08:00:00Z", "2026-11-24T08:00:00Z", "2026-11-25T08:00:00Z"],
    }


def test_after_is_now_for_relative_phrases(run: typer.Typer) -> None:
    code, out, _ = invoke(run, "in 30 minutes", "--after", "2026-11-23T10:00Z", "--json")
    assert code == 0
    assert json.loads(out)["fires"] == ["2026-11-23T10:30:00Z"]


def test_table_shows_local_and_utc(run: typer.Typer) -> None:
    code, out, _ = invoke(
        run, "30 2 * * *", "--tz", "Europe/Berlin", "--after", "2026-03-28T12:00", "-n", "2"
    )
    assert code == 0
    assert "2026-03-29 Sun 03:00:00 +0200" in out
    assert "2026-03-29T01:00:00Z" in out


def test_solar_needs_lat_and_lon(run: typer.Typer) -> None:
    code, out, _ = invoke(
        run,
        "sunset",
        "--lat",
        "52.52",
        "--lon",
        "13.405",
        "--tz",
        "Europe/Berlin",
        "--after",
        "2026-03-29T00:00",
        "--json",
        "-n",
        "1",
    )
    assert code == 0
    assert json.loads(out)["fires"][0].startswith("2026-03-29T17:35")
    code, _, err = invoke(run, "sunset", "--lat", "52.52", "--json")
    assert code == 2
    assert "both --lat and --lon" in err


def test_literal_dst_option(run: typer.Typer) -> None:
    code, out, _ = invoke(
        run,
        "30 2 * * *",
        "--tz",
        "Europe/Berlin",
        "--after",
        "2026-10-25T00:00",
        "--dst",
        "literal",
        "--json",
        "-n",
        "2",
    )
    assert code == 0
    assert json.loads(out)["fires"] == ["2026-10-25T00:30:00Z", "2026-10-25T01:30:00Z"]


@pytest.mark.parametrize(
    ("spec", "message"),
    [
        pytest.param("0 25 * * *", "cron field 2 (hour): 25 is out of range 0-23", id="hour"),
        pytest.param("yesterday at 5pm", "is in the past", id="past"),
        pytest.param("", "empty schedule", id="empty"),
    ],
)
def test_refused_spec_is_one_line_on_stderr_exit_2(
    run: typer.Typer, spec: str, message: str
) -> None:
    code, out, err = invoke(run, spec, "--json")
    assert code == 2
    assert out == ""
    assert err.count("\n") == 1
    assert message in err


def test_bad_after_is_refused(run: typer.Typer) -> None:
    code, _, err = invoke(run, "every 10m", "--after", "soon")
    assert code == 2
    assert "--after 'soon' is not an ISO 8601" in err


def test_finite_schedule_stops_early(run: typer.Typer) -> None:
    code, out, _ = invoke(run, "in 5 minutes", "--after", "2026-01-01T00:00Z", "--json")
    assert code == 0
    assert json.loads(out)["fires"] == ["2026-01-01T00:05:00Z"]
