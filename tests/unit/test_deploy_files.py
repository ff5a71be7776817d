"""``deploy/`` is checked without a Docker engine: the files are read, not run.

- Every gnomon command line in ``deploy/compose.yaml`` (services built from ``deploy/Dockerfile``,
  whose ENTRYPOINT is ``gnomon``), in the systemd units' ``ExecStart`` and in the Dockerfile's
  HEALTHCHECK is one gnomon accepts: it parses (every option exists, every value converts)
  and ``gnomon <command line> --help`` succeeds. A test proves the check fails for a misspelled
  option.
- Every variable compose.yaml or ``.env.example`` refers to is documented in docs/deploy.md.
- The image installs the extras the commands need; every stop waits longer than gnomon's clean
  stop (GNOMON_STOP_TIMEOUT).
"""

from __future__ import annotations

import re
import shlex
from collections.abc import Iterator
from configparser import ConfigParser
from pathlib import Path
from typing import Any

import pytest
import yaml
from typer.core import TyperGroup
from typer.exceptions import TyperException
from typer.main import get_command
from typer.testing import CliRunner

from gnomon.cli import app
from gnomon.settings import Settings

ROOT = Path(__file__).resolve().parents[2]
DEPLOY = ROOT / "deploy"
COMPOSE = DEPLOY / "compose.yaml"
DOCKERFILE = DEPLOY / "Dockerfile"
DOC = ROOT / "docs" / "deploy.md"
UNITS = sorted(DEPLOY.glob("*.service"))
CLEAN_STOP_MARGIN = 10.0  # seconds beyond GNOMON_STOP_TIMEOUT to record outcomes and close

# Compose's interpolation: $$ (a literal $), $VAR, ${VAR}, ${VAR:-default}, ${VAR-default},
# ${VAR:?error}, ${VAR?error}, ${VAR:+alternative}.
VARIABLE = re.compile(
    r"\$(?:(?P<escaped>\$)|\{(?P<braced>[A-Za-z_]\w*)(?:(?P<op>:?[-?+])(?P<arg>[^}]*))?\}"
    r"|(?P<bare>[A-Za-z_]\w*))"
)


def interpolate(text: str) -> str:
    """``text`` as compose would see it with no variable set: defaults taken, a required
    variable replaced by a placeholder."""

    def value(match: re.Match[str]) -> str:
        if match["escaped"]:
            return "$"
        op = match["op"] or ""
        return match["arg"] if op.endswith("-") else "placeholder"

    return VARIABLE.sub(value, text)


def variables(text: str) -> set[str]:
    return {m["braced"] or m["bare"] for m in VARIABLE.finditer(text) if not m["escaped"]}


def compose() -> dict[str, Any]:
    loaded = yaml.safe_load(COMPOSE.read_text(encoding="utf-8"))
    assert isinstance(loaded, dict)
    return loaded


def gnomon_services() -> dict[str, dict[str, Any]]:
    """Services run from gnomon's image: built from deploy/Dockerfile."""
    return {
        name: service
        for name, service in compose()["services"].items()
        if (service.get("build") or {}).get("dockerfile") == "deploy/Dockerfile"
    }


def command_of(service: dict[str, Any]) -> list[str]:
    command = service["command"]
    words = shlex.split(command) if isinstance(command, str) else [str(w) for w in command]
    return [interpolate(word) for word in words]


def exec_start(unit: Path) -> list[str]:
    parser = ConfigParser(interpolation=None, strict=False)
    parser.optionxform = str  # type: ignore[assignment, method-assign]
    parser.read(unit, encoding="utf-8")
    words = shlex.split(parser["Service"]["ExecStart"])
    assert Path(words[0]).name == "gnomon", f"{unit.name}: ExecStart does not run gnomon"
    return words[1:]


def unit_service(unit: Path) -> dict[str, str]:
    parser = ConfigParser(interpolation=None, strict=False)
    parser.optionxform = str  # type: ignore[assignment, method-assign]
    parser.read(unit, encoding="utf-8")
    return dict(parser["Service"])


# -- the check of a command line ----------------------------------------------------------


class CommandLineError(Exception):
    """``gnomon ARGS`` would be refused: what Click says is wrong."""


def parse_command_line(args: list[str]) -> tuple[list[str], list[str]]:
    """Parse ``gnomon ARGS`` down to its (sub)command with Typer's Click, running nothing:
    raises :class:`CommandLineError` for an unknown command or option, a bad value or a
    missing argument. Returns the command's path (``["token", "create"]``) and the arguments
    it passes on (``gnomon worker``'s options for Celery)."""
    command: Any = get_command(app)
    path: list[str] = []
    parent, name = None, "gnomon"
    try:
        while True:
            ctx = command.make_context(name, list(args), parent=parent)
            if not isinstance(command, TyperGroup):
                return path, list(ctx.args)
            # A group stops at its subcommand: what it left unparsed follows that name.
            rest = list(ctx.args)
            name = args[len(args) - len(rest) - 1]
            found = command.get_command(ctx, name)
            if found is None:
                raise CommandLineError(f"No such command {name!r}")
            command, args, parent = found, rest, ctx
            path.append(name)
    except TyperException as exc:  # Click's usage errors
        show = getattr(exc, "format_message", None)
        raise CommandLineError(show() if callable(show) else str(exc)) from None


def parse_celery_worker(args: list[str]) -> None:
    """Parse the options ``gnomon worker`` passes to Celery's ``worker`` command, as Celery
    would (its pool names need an app to be read)."""
    import click  # Celery's own Click, not Typer's
    from celery import Celery
    from celery.bin.base import CLIContext
    from celery.bin.worker import worker

    obj = CLIContext(app=Celery(set_as_current=False), no_color=True, workdir=None, quiet=True)
    try:
        worker.make_context("worker", list(args), obj=obj)
    except click.ClickException as exc:
        raise CommandLineError(f"Celery's worker: {exc.format_message()}") from None


def check_command_line(args: list[str]) -> None:
    """Fail unless ``gnomon ARGS`` parses and ``gnomon ARGS --help`` succeeds."""
    try:
        path, passed_on = parse_command_line(args)
        if path == ["worker"]:
            parse_celery_worker(passed_on)
        elif passed_on:
            raise CommandLineError(f"unexpected arguments {passed_on}")
    except CommandLineError as exc:
        pytest.fail(f"gnomon {shlex.join(args)}: {exc}")
    result = CliRunner().invoke(app, [*args, "--help"])
    assert result.exit_code == 0, f"gnomon {shlex.join(args)} --help:\n{result.output}"
    assert result.output.lstrip().startswith("Usage:"), result.output


def command_lines() -> Iterator[Any]:
    for name, service in gnomon_services().items():
        yield pytest.param(command_of(service), id=f"compose:{name}")
    for unit in UNITS:
        yield pytest.param(exec_start(unit), id=f"systemd:{unit.name}")
    healthcheck = re.search(
        r"^HEALTHCHECK .*?CMD (\[[^\n]*\])$", DOCKERFILE.read_text(), re.M | re.S
    )
    assert healthcheck, "the Dockerfile has no HEALTHCHECK in exec form"
    words = yaml.safe_load(healthcheck[1])
    assert words[0] == "gnomon"
    yield pytest.param(words[1:], id="Dockerfile:HEALTHCHECK")


@pytest.mark.parametrize("args", list(command_lines()))
def test_every_command_line_is_one_gnomon_accepts(args: list[str]) -> None:
    check_command_line(args)


@pytest.mark.parametrize(
    ("args", "complaint"),
    [
        (["api", "--hots", "0.0.0.0"], "No such option: --hots"),
        (["api", "--port", "eighty"], "Invalid value for '--port'"),
        (["api", "--host"], "Option '--host' requires an argument"),
        (["--dbb", "x", "api"], "No such option: --dbb"),
        (["token", "create", "ops", "--scoop", "admin"], "No such option: --scoop"),
        (["apii"], "No such command 'apii'"),
        (["worker", "--concurency", "4"], "No such option '--concurency'"),
        (["worker", "--pool", "prefrok"], "'prefrok' is not one of 'prefork'"),
    ],
)
def test_the_check_fails_for_a_misspelled_command_line(args: list[str], complaint: str) -> None:
    with pytest.raises(pytest.fail.Exception, match=re.escape(complaint)):
        check_command_line(args)


def test_help_appended_alone_rejects_a_misspelled_option() -> None:
    """``--help`` is acted on only after every argument was parsed: an unknown option before it
    is still an error (the reason the ``--help`` half of the check is worth having)."""
    result = CliRunner().invoke(app, ["api", "--hots", "0.0.0.0", "--help"])
    assert result.exit_code == 2
    assert "No such option" in result.output


def test_the_check_reads_a_nested_command() -> None:
    args = ["--db", "x.db", "token", "create", "ops", "--scope", "read"]
    assert parse_command_line(args) == (["token", "create"], [])


# -- compose.yaml --------------------------------------------------------------------------


def test_compose_has_the_processes_of_a_scaled_out_deployment() -> None:
    services = compose()["services"]
    commands = {name: command_of(s)[0] for name, s in gnomon_services().items()}
    schedulers = [n for n, c in commands.items() if c == "scheduler"]
    workers = [n for n, c in commands.items() if c == "worker"]
    assert sum(services[n].get("deploy", {}).get("replicas", 1) for n in schedulers) >= 2
    assert sum(services[n].get("deploy", {}).get("replicas", 1) for n in workers) >= 2
    assert "api" in commands.values()
    assert {"postgres", "redis", "flower"} <= services.keys()
    for name in ("postgres", "redis"):
        assert "healthcheck" in services[name], f"{name} has no healthcheck"
    for name in commands:
        depends = services[name]["depends_on"]
        assert depends["postgres"]["condition"] == "service_healthy"


def test_every_gnomon_service_stops_slower_than_a_clean_stop() -> None:
    stop_timeout = float(interpolate("${GNOMON_STOP_TIMEOUT:-30}"))
    for name, service in gnomon_services().items():
        grace = service.get("stop_grace_period", "10s")
        seconds = float(grace.removesuffix("s"))
        assert seconds >= stop_timeout + CLEAN_STOP_MARGIN, f"{name}: stop_grace_period {grace}"
        env = service["environment"]
        assert interpolate(str(env["GNOMON_STOP_TIMEOUT"])) == str(int(stop_timeout))


def test_every_variable_is_documented() -> None:
    doc = DOC.read_text(encoding="utf-8")
    used = variables(COMPOSE.read_text(encoding="utf-8"))
    example = (DEPLOY / ".env.example").read_text(encoding="utf-8")
    listed = set(re.findall(r"^#? ?([A-Z_][A-Z0-9_]*)=", example, re.M))
    assert used, "compose.yaml refers to no variable: the parsing is wrong"
    missing = sorted(v for v in used | listed if f"`{v}`" not in doc)
    assert not missing, f"not documented in docs/deploy.md: {missing}"
    assert listed >= used, f"not in deploy/.env.example: {sorted(used - listed)}"


def test_the_secrets_are_required_not_defaulted() -> None:
    text = COMPOSE.read_text(encoding="utf-8")
    for secret in ("POSTGRES_PASSWORD", "REDIS_PASSWORD", "FLOWER_BASIC_AUTH"):
        uses = [m for m in VARIABLE.finditer(text) if m["braced"] == secret]
        assert uses, secret
        assert all(m["op"] == ":?" for m in uses), f"{secret} must be ${{{secret}:?…}}"


def test_interpolation_follows_compose() -> None:
    assert interpolate("a ${X:-4} ${Y} $Z $$HOME ${W:?say}") == (
        "a 4 placeholder placeholder $HOME placeholder"
    )
    assert variables("${A:-1} $B $$C ${D:?x}") == {"A", "B", "D"}


# -- the Dockerfile and the units ----------------------------------------------------------


def test_the_image_installs_the_extras_its_commands_need() -> None:
    text = DOCKERFILE.read_text(encoding="utf-8")
    assert re.search(r"^FROM python:3\.11-slim$", text, re.M)
    assert re.search(r'^ENTRYPOINT \["gnomon"\]$', text, re.M)
    assert re.search(r"^USER gnomon$", text, re.M), "the image must not run as root"
    installs = re.findall(r"pip install [^\n]*gnomon\[([a-z,]+)\]", text)
    assert installs, "the Dockerfile does not install gnomon with extras"
    needed = {"postgres"}  # the database URL in compose.yaml is PostgreSQL
    if {"scheduler", "worker"} & {command_of(s)[0] for s in gnomon_services().values()}:
        needed.add("celery")
    for extras in installs:
        assert needed <= set(extras.split(",")), f"gnomon[{extras}] lacks {needed}"


@pytest.mark.parametrize("unit", UNITS, ids=[u.name for u in UNITS])
def test_each_unit_restarts_and_stops_cleanly(unit: Path) -> None:
    service = unit_service(unit)
    assert service["User"] == "gnomon"
    assert service["Restart"] == "always"
    assert service["KillSignal"] == "SIGTERM"
    assert service["EnvironmentFile"].startswith("/")
    args = exec_start(unit)
    if args[0] in ("scheduler", "worker"):
        stop = float(service["TimeoutStopSec"])
        given = args[args.index("--stop-timeout") + 1] if "--stop-timeout" in args else None
        clean_stop = Settings().stop_timeout if given is None else float(given)
        assert stop >= clean_stop + CLEAN_STOP_MARGIN, f"{unit.name}: {stop}"
        assert service.get("KillMode") == "mixed", "SIGTERM must reach gnomon, not its runs"


def test_the_units_cover_every_process() -> None:
    assert {exec_start(u)[0] for u in UNITS} == {"scheduler", "worker", "api"}
