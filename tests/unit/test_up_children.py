"""``gnomon up --broker``: which children it starts, with which command lines (each one a real
gnomon command line, checked like deploy/'s), and what it refuses."""

from __future__ import annotations

import importlib.util
import sys

import pytest
from typer.testing import CliRunner

from gnomon.cli import app
from gnomon.cli.up import ChildOptions, Components, broker_children, up_with_broker
from gnomon.errors import ConfigError
from gnomon.settings import Settings
from tests.unit.test_deploy_files import check_command_line

EVERYTHING = Components(scheduler=None, worker=None, api=True, flower=None)
DEFAULTS = ChildOptions(workers=None, lease=None, identity=None, stop_timeout=None)
GNOMON = (sys.executable, "-m", "gnomon")


def gnomon_args(argv: tuple[str, ...]) -> list[str]:
    assert argv[:3] == GNOMON, argv
    return list(argv[3:])


def test_by_default_scheduler_worker_api_and_flower_when_installed() -> None:
    children = broker_children(EVERYTHING, DEFAULTS, "127.0.0.1", 8787, flower=True)
    assert [c.name for c in children] == ["scheduler", "worker", "api", "flower"]
    argv = {c.name: c.argv for c in children}
    assert gnomon_args(argv["scheduler"]) == ["scheduler"]
    assert gnomon_args(argv["worker"]) == ["worker"]
    assert gnomon_args(argv["api"]) == ["api", "--host", "127.0.0.1", "--port", "8787"]
    assert argv["flower"][1:] == (
        "-m",
        "celery",
        "-A",
        "gnomon.celery",
        "flower",
        "--address=127.0.0.1",
        "--port=5555",
    )
    without = broker_children(EVERYTHING, DEFAULTS, "127.0.0.1", 8787, flower=False)
    assert [c.name for c in without] == ["scheduler", "worker", "api"]


def test_options_are_passed_on_and_every_command_line_is_real() -> None:
    options = ChildOptions(workers=3, lease=12.0, identity="dev-1", stop_timeout=5.0)
    children = broker_children(EVERYTHING, options, "::1", 9000, flower=False)
    argv = {c.name: gnomon_args(c.argv) for c in children}
    assert argv["scheduler"] == [
        "scheduler",
        "--identity",
        "dev-1",
        "--lease",
        "12.0",
        "--stop-timeout",
        "5.0",
    ]
    assert argv["worker"] == ["worker", "--concurrency", "3"]
    for args in argv.values():
        check_command_line(args)


@pytest.mark.parametrize(
    ("picked", "names"),
    [
        (
            Components(scheduler=False, worker=None, api=True, flower=None),
            ["worker", "api", "flower"],
        ),
        (Components(scheduler=None, worker=False, api=False, flower=False), ["scheduler"]),
        (Components(scheduler=True, worker=True, api=False, flower=False), ["scheduler", "worker"]),
    ],
)
def test_components_are_picked(picked: Components, names: list[str]) -> None:
    children = broker_children(picked, DEFAULTS, "127.0.0.1", 8787, flower=True)
    assert [c.name for c in children] == names


def test_without_a_broker_the_picks_are_refused() -> None:
    result = CliRunner().invoke(
        app, ["up", "--no-worker", "--flower"], env={"GNOMON_BROKER_URL": ""}
    )
    assert isinstance(result.exception, ConfigError)
    assert str(result.exception) == (
        "--no-worker, --flower: these pick the processes of gnomon up with a broker; give "
        "--broker URL or GNOMON_BROKER_URL"
    )


@pytest.mark.skipif(importlib.util.find_spec("flower") is not None, reason="flower is installed")
def test_flower_asked_for_but_not_installed_is_refused() -> None:
    picked = Components(scheduler=None, worker=None, api=True, flower=True)
    with pytest.raises(
        ConfigError, match=r"--flower: Flower is not installed \(pip install flower\)"
    ):
        up_with_broker(
            "redis://127.0.0.1:6379/0",
            picked,
            DEFAULTS,
            Settings(),
            demo=False,
            devices=None,
            host="127.0.0.1",
            port=8787,
        )


def test_devices_are_refused_with_a_broker() -> None:
    with pytest.raises(ConfigError, match="--devices: device modules are not run with --broker"):
        up_with_broker(
            "redis://127.0.0.1:6379/0",
            EVERYTHING,
            DEFAULTS,
            Settings(),
            demo=False,
            devices="devices",
            host="127.0.0.1",
            port=8787,
        )
