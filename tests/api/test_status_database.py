"""Issue 14: ``gnomon status`` says when the API it finds serves another database, and where
``--python`` references are imported from.

A newcomer runs ``gnomon up`` in one folder (``./gnomon.db``) and ``gnomon add`` in another:
the API answers, the job is not there. ``/health`` now names its database by a digest (no
part of the URL), and ``gnomon status`` compares it with its own.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import typer
from sqlalchemy.engine import make_url
from typer.testing import CliRunner

from gnomon import service
from gnomon.api import serve_in_background
from gnomon.cli import status
from gnomon.cli.state import state
from gnomon.scheduler import Scheduler
from gnomon.settings import Settings

runner = CliRunner()


@pytest.fixture
def cli(tmp_path: Path) -> typer.Typer:
    app = typer.Typer()

    @app.callback()
    def _options(db: str = typer.Option(str(tmp_path / "cli.db"), "--db")) -> None:
        state.db = db

    status.register(app)
    return app


def _status_against(cli: typer.Typer, served: str, *args: str) -> tuple[int, dict[str, dict]]:  # type: ignore[type-arg]
    with Scheduler(served, settings=Settings()) as scheduler:
        server = serve_in_background(scheduler, "127.0.0.1", 0)
        try:
            done = runner.invoke(cli, [*args, "status", "--api", server.url, "--json"])
        finally:
            server.stop()
    return done.exit_code, {c["name"]: c for c in json.loads(done.output)}


def test_status_confirms_the_api_serves_its_database(cli: typer.Typer, tmp_path: Path) -> None:
    Scheduler(str(tmp_path / "cli.db"), settings=Settings()).close()  # migrated
    # The same file by another path: the same database.
    _, checks = _status_against(cli, str(tmp_path / "cli.db"), "--db", f"{tmp_path}/./cli.db")
    assert checks["api"]["ok"] is True
    assert checks["api"]["message"].endswith("on this database")


def test_status_fails_when_the_api_serves_another_database(
    cli: typer.Typer, tmp_path: Path
) -> None:
    Scheduler(str(tmp_path / "cli.db"), settings=Settings()).close()
    code, checks = _status_against(cli, str(tmp_path / "elsewhere.db"))
    assert code == 1
    assert checks["api"]["ok"] is False
    assert "serves another database than" in checks["api"]["message"]
    assert "cli.db" in checks["api"]["message"]  # this command's, to compare


def test_health_names_its_database_without_its_url(tmp_path: Path) -> None:
    with Scheduler(str(tmp_path / "a.db"), settings=Settings()) as scheduler:
        server = serve_in_background(scheduler, "127.0.0.1", 0)
        try:
            import httpx

            body = httpx.get(server.url + "health", timeout=10).json()
        finally:
            server.stop()
        assert body["database_id"] == service.database_identity(scheduler)
    assert str(tmp_path) not in json.dumps(body)


@pytest.mark.postgres
def test_a_postgresql_database_has_one_identity_whatever_the_host_is_called(
    postgres_url: str,
) -> None:
    other = make_url(postgres_url).set(host="localhost").render_as_string(hide_password=False)
    assert other != postgres_url
    with (
        service.inspect_database(postgres_url) as one,
        service.inspect_database(other) as two,
        service.inspect_database(
            make_url(postgres_url).set(database="postgres").render_as_string(hide_password=False)
        ) as elsewhere,
    ):
        assert service.database_identity(one) == service.database_identity(two)
        assert service.database_identity(one) != service.database_identity(elsewhere)


def test_status_shows_where_python_references_import_from(
    cli: typer.Typer, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    lib = tmp_path / "lib"
    lib.mkdir()
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("GNOMON_PYTHONPATH", f"lib:{tmp_path / 'gone'}")
    done = runner.invoke(cli, ["status", "--api", "", "--json"])
    imports = {c["name"]: c for c in json.loads(done.output)}["imports"]
    assert imports["ok"] is None  # a folder that is not there: a warning
    assert f"import from {lib}, {tmp_path / 'gone'}, {tmp_path};" in imports["message"]
    assert f"not a folder: {tmp_path / 'gone'}" in imports["message"]
    monkeypatch.setenv("GNOMON_PYTHONPATH", "lib")
    done = runner.invoke(cli, ["status", "--api", "", "--json"])
    imports = {c["name"]: c for c in json.loads(done.output)}["imports"]
    assert imports["ok"] is True
    assert f"import from {lib}, {tmp_path} (GNOMON_PYTHONPATH" in imports["message"]
    monkeypatch.delenv("GNOMON_PYTHONPATH")
    done = runner.invoke(cli, ["status", "--api", "", "--json"])
    imports = {c["name"]: c for c in json.loads(done.output)}["imports"]
    assert (
        f"import from {tmp_path} (the current directory; GNOMON_PYTHONPATH adds"
        in (imports["message"])
    )


def test_status_shows_where_each_running_scheduler_imports_from(
    cli: typer.Typer, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The scheduler reports its own import folders in its heartbeat: a scheduler started in
    another folder is named, since a reference that imports here may not import there."""
    from gnomon.clock import SystemClock
    from gnomon.references import import_folders

    db = str(tmp_path / "cli.db")
    app_dir = tmp_path / "app"
    app_dir.mkdir()
    monkeypatch.chdir(app_dir)
    monkeypatch.delenv("GNOMON_PYTHONPATH", raising=False)
    monkeypatch.syspath_prepend(str(app_dir))  # as `gnomon up` started here adds it
    with Scheduler(db, clock=SystemClock(), settings=Settings()) as scheduler:
        scheduler.tick()  # its first heartbeat
        [beat] = service.heartbeats(scheduler)
    assert beat.imports == import_folders()
    here = {
        c["name"]: c
        for c in json.loads(runner.invoke(cli, ["status", "--api", "", "--json"]).output)
    }
    assert here["imports"]["ok"] is True, here["imports"]
    assert f"scheduler {beat.id} from " in here["imports"]["message"]
    other = tmp_path / "other"
    other.mkdir()
    monkeypatch.chdir(other)  # `gnomon status` (and `gnomon add`) run from another folder
    there = {
        c["name"]: c
        for c in json.loads(runner.invoke(cli, ["status", "--api", "", "--json"]).output)
    }
    assert there["imports"]["ok"] is None, there["imports"]
    message = there["imports"]["message"]
    assert f"a command here from {other}" in message
    assert f"may not in {beat.id}" in message


def test_a_folder_named_through_a_symlink_is_the_same_folder(
    cli: typer.Typer, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """GNOMON_PYTHONPATH may name a folder through a symlink; the scheduler reports real
    paths, and status compares real paths: no warning."""
    from gnomon.clock import SystemClock

    lib = tmp_path / "lib"
    lib.mkdir()
    link = tmp_path / "link"
    link.symlink_to(lib)
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("GNOMON_PYTHONPATH", str(link))
    monkeypatch.syspath_prepend(str(link))  # as `gnomon up` adds it
    monkeypatch.syspath_prepend(str(tmp_path))
    with Scheduler(str(tmp_path / "cli.db"), clock=SystemClock(), settings=Settings()) as scheduler:
        scheduler.tick()
    done = runner.invoke(cli, ["status", "--api", "", "--json"])
    imports = {c["name"]: c for c in json.loads(done.output)}["imports"]
    assert imports["ok"] is True, imports
    assert str(lib) in imports["message"]
