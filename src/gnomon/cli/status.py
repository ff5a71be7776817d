"""``gnomon status``: is every part working? One line each: what is wrong, how to fix it."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING

import typer

from gnomon.cli import output
from gnomon.cli.state import state

if TYPE_CHECKING:
    from collections.abc import Sequence

    import httpx

    from gnomon.scheduler import Scheduler
    from gnomon.service import Heartbeat

STALE_BEAT = 30.0  # seconds without a heartbeat before a scheduler counts as gone
LAG_WARN = 60.0  # seconds a due job may wait before the scheduler counts as lagging


@dataclass(frozen=True, slots=True)
class Check:
    """One component: ``ok`` is True (fine), False (broken) or None (a warning)."""

    name: str
    ok: bool | None
    message: str


def database_failed(url: str, error: str) -> Check:
    return Check(
        "database",
        False,
        f"cannot reach {url}: {error} — check --db or "
        "GNOMON_DATABASE_URL, and that the server is running",
    )


def check_database(scheduler: Scheduler) -> Check:
    from gnomon import service

    return Check("database", True, f"reachable ({service.database_url(scheduler)})")


def check_migrations(scheduler: Scheduler) -> Check:
    from gnomon import service

    current, head = service.schema_revision(scheduler)
    if current is None:
        return Check(
            "migrations",
            False,
            "the database has no gnomon schema — start `gnomon up` once (it migrates on start)",
        )
    if current != head:
        return Check(
            "migrations",
            False,
            f"schema at revision {current}, this gnomon needs "
            f"{head} — start `gnomon up` with this version to migrate",
        )
    return Check("migrations", True, f"schema up to date (revision {head})")


def check_scheduler(scheduler: Scheduler, now: datetime) -> list[Check]:
    from gnomon import service

    beats = service.heartbeats(scheduler)
    if not beats:
        found = Check(
            "scheduler", False, "no scheduler has ever reported — start one with `gnomon up`"
        )
    else:
        age = (now - beats[0].beat_at).total_seconds()
        alive = [b for b in beats if (now - b.beat_at).total_seconds() <= STALE_BEAT]
        found = (
            Check("scheduler", True, f"{len(alive)} alive (latest {beats[0].id}, {age:.0f} s ago)")
            if alive
            else Check(
                "scheduler",
                False,
                f"last heartbeat {age:.0f} s ago from {beats[0].id} — is "
                "`gnomon up` running? restart it",
            )
        )
    due = service.oldest_due(scheduler, now)
    lag = 0.0 if due is None else (now - due).total_seconds()
    depth = service.queue_depth(scheduler, now)
    if lag > LAG_WARN:
        late = Check(
            "lag",
            None,
            f"a job due {lag:.0f} s ago has not fired; {depth} run(s) "
            "queued — the scheduler is down or overloaded (more workers?)",
        )
    else:
        late = Check("lag", True, f"{lag:.1f} s behind; {depth} run(s) waiting for a worker")
    return [found, late, *check_workers(scheduler, now)]


def check_workers(scheduler: Scheduler, now: datetime) -> list[Check]:
    """Celery workers (only when runs go through a broker): are they consuming?"""
    from gnomon import service

    backlog = service.broker_backlog(scheduler)
    if backlog.queued == 0 and backlog.last_start is None:
        return []  # no broker in use: runs execute in the schedulers
    last = "never"
    if backlog.last_start is not None:
        last = f"{(now - backlog.last_start).total_seconds():.0f} s ago"
    wait = 0.0 if backlog.oldest_due is None else (now - backlog.oldest_due).total_seconds()
    if backlog.queued and wait > LAG_WARN:
        message = (
            f"{backlog.queued} run(s) sent to the broker, the oldest {wait:.0f} s ago, not "
            f"started; a worker last started one {last} — are `gnomon worker`s running? one "
            "connected but idle (e.g. after a broker restart) needs a restart"
        )
        return [Check("workers", None, message)]
    message = f"{backlog.queued} run(s) waiting in the broker; a worker last started one {last}"
    return [Check("workers", True, message)]


def check_imports(schedulers: Sequence[Heartbeat] = ()) -> Check:
    """Where ``--python`` references are imported from: by each scheduler alive (what its
    heartbeat reports), and by a command started here (GNOMON_PYTHONPATH, then here). A
    folder that is not there, or a scheduler that does not import from a folder this command
    does (``gnomon add --python`` checks a reference here), is a warning."""
    import os

    from gnomon.settings import python_path

    folders = python_path()
    absent = [f for f in folders if not os.path.isdir(f)]
    where = ", ".join(folders)
    if absent:
        return Check(
            "imports",
            None,
            f"--python references import from {where}; not a folder: {', '.join(absent)} "
            "— check GNOMON_PYTHONPATH",
        )
    known = [s for s in schedulers if s.imports is not None]
    if known:
        said = "; ".join(
            f"scheduler {s.id} from {', '.join(s.imports or ()) or '-'}" for s in known
        )
        here = {os.path.realpath(f) for f in folders}  # the scheduler reports real paths
        apart = [s.id for s in known if not here <= {os.path.realpath(f) for f in s.imports or ()}]
        if apart:
            return Check(
                "imports",
                None,
                f"--python references import: {said}; a command here from {where} — a "
                f"reference that imports here may not in {', '.join(apart)}: start it here "
                "or set GNOMON_PYTHONPATH the same for both",
            )
        return Check("imports", True, f"--python references import: {said} (as here)")
    source = (
        "the current directory; GNOMON_PYTHONPATH adds folders"
        if folders == (os.getcwd(),)
        else "GNOMON_PYTHONPATH, then the current directory"
    )
    return Check(
        "imports",
        True,
        f"--python references import from {where} ({source}; `gnomon up` started here "
        "uses the same)",
    )


def check_api(url: str, database_id: str | None = None, db_url: str = "") -> Check:
    """Is the API at ``url`` answering, and (given this command's ``database_id``) does it
    serve the same database?"""
    import httpx

    health = url.rstrip("/") + "/health"
    try:
        response = httpx.get(health, timeout=2.0)
    except httpx.HTTPError as exc:
        return Check(
            "api",
            False,
            f"not reachable at {url} ({type(exc).__name__}) — start "
            "`gnomon up` (serves it) or `gnomon api`",
        )
    if response.status_code != 200:
        return Check("api", False, f"{health} answered {response.status_code} — see its logs")
    served = _served_database(response)
    if database_id is None:
        return Check("api", True, f"answering at {url}")
    if served is None:
        return Check(
            "api", None, f"answering at {url}, but it does not say which database it serves"
        )
    if served != database_id:
        return Check(
            "api",
            False,
            f"the API at {url} serves another database than {db_url} — give this command "
            "that API's database (--db or GNOMON_DATABASE_URL), or --api the address of "
            "the API that serves this one",
        )
    return Check("api", True, f"answering at {url}, on this database")


def _served_database(response: httpx.Response) -> str | None:
    """The ``database_id`` a /health answer reports, if any."""
    try:
        body = response.json()
    except ValueError:
        return None
    served = body.get("database_id") if isinstance(body, dict) else None
    return served if isinstance(served, str) else None


def run_checks(db_url: str, api_url: str | None, now: datetime) -> list[Check]:
    """Every check, in order; later ones are skipped when the database is unusable."""
    from gnomon import service
    from gnomon.errors import StoreUnavailable

    checks: list[Check] = []
    alive: list[Heartbeat] = []
    identity: str | None = None
    shown = db_url
    try:
        with service.inspect_database(db_url) as scheduler:
            checks.append(check_database(scheduler))
            identity = service.database_identity(scheduler)
            shown = service.database_url(scheduler)
            migrations = check_migrations(scheduler)
            checks.append(migrations)
            if migrations.ok:
                checks.extend(check_scheduler(scheduler, now))
                alive = [
                    b
                    for b in service.heartbeats(scheduler)
                    if (now - b.beat_at).total_seconds() <= STALE_BEAT
                ]
    except StoreUnavailable as exc:  # whatever fails is what status must report
        if checks:
            raise
        checks.append(database_failed(db_url, str(exc)))
    checks.append(check_imports(alive))
    if api_url:
        checks.append(check_api(api_url, identity, shown))
    return checks


def status(
    api_url: str = typer.Option(
        "http://127.0.0.1:8787", "--api", help="API to check ('' to skip)."
    ),
    as_json: bool = typer.Option(False, "--json", help="Print JSON."),
) -> None:
    """Check the database, migrations, scheduler heartbeat and lag, the import path of
    --python references, and the API (answering, and on the same database)."""
    from gnomon.clock import SystemClock
    from gnomon.settings import Settings

    checks = run_checks(
        state.db or Settings.from_env().database_url, api_url or None, SystemClock().now()
    )
    if as_json:
        output.print_json([{"name": c.name, "ok": c.ok, "message": c.message} for c in checks])
    else:
        marks = {True: "[green]ok  [/]", False: "[red]FAIL[/]", None: "[yellow]warn[/]"}
        for check in checks:
            output.console.print(
                f"{marks[check.ok]} {check.name:<11} {check.message}", highlight=False
            )
    if any(c.ok is False for c in checks):
        raise typer.Exit(1)


def register(app: typer.Typer) -> None:
    """Add ``gnomon status`` to the CLI."""
    app.command(name="status")(status)
