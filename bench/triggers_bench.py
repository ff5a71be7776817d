"""Trigger costs: parse, next fire, beside cronsim and croniter; and a cold ``gnomon next``.

    .venv/bin/pip install -r bench/requirements.txt   # croniter, for comparison only
    .venv/bin/python bench/triggers_bench.py [--quick]

Every figure is the median of several runs (``RUNS``) of a timed loop. Results and the
machine are written up in bench/TRIGGERS.md.
"""

from __future__ import annotations

import statistics
import subprocess
import sys
import time
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from zoneinfo import ZoneInfo

from cronsim import CronSim

from gnomon.triggers import CronTrigger, parse

RUNS = 7
ROOT = Path(__file__).resolve().parent.parent
START = datetime(2026, 11, 23, 10, 0, tzinfo=UTC)
SPECS = [
    "0 9 * * 1-5",
    "*/5 * * * *",
    "@daily",
    "0 0 15W * *",
    "every weekday at 9:00",
    "every 15m",
    "tomorrow at 2pm",
    "sunset+20m",
    "DTSTART;TZID=Europe/Berlin:20260101T090000 RRULE:FREQ=WEEKLY;BYDAY=MO,TH",
    "every weekday at 9:00 except holidays in DE-BY",
]


def median_us(body: Callable[[], object], loops: int) -> float:
    """Median over ``RUNS`` runs of the mean cost of one ``body()`` call, in microseconds."""
    body()  # warm caches and lazy imports outside the timing
    samples = []
    for _ in range(RUNS):
        began = time.perf_counter()
        for _ in range(loops):
            body()
        samples.append((time.perf_counter() - began) / loops * 1e6)
    return statistics.median(samples)


def parse_costs(loops: int) -> None:
    print("\n## parse (one call) and next fire (one call on a parsed trigger)\n")
    print("| spec | parse µs | next_after µs |")
    print("|---|---:|---:|")
    for spec in SPECS:
        trigger = parse(spec, tz="Europe/Berlin", now=START, location=(52.52, 13.405))
        cost_parse = median_us(
            lambda s=spec: parse(s, tz="Europe/Berlin", now=START, location=(52.52, 13.405)),
            loops,
        )
        cost_next = median_us(lambda t=trigger: t.next_after(START), loops)
        print(f"| `{spec}` | {cost_parse:.1f} | {cost_next:.1f} |")


def cron_next(expr: str, tz: str, loops: int) -> tuple[float, float, float, float]:
    """gnomon (stateless), cronsim (stateless), croniter (stateless), gnomon 100 successive."""
    from croniter import croniter

    zone = ZoneInfo(tz)
    local_start = START.astimezone(zone)
    trigger = CronTrigger(expr, tz)
    ours = median_us(lambda: CronTrigger(expr, tz).next_after(START), loops)
    sim = median_us(lambda: next(CronSim(expr, local_start)), loops)
    iter_ = median_us(lambda: croniter(expr, local_start).get_next(datetime), loops)

    def hundred() -> None:
        at: datetime | None = START
        for _ in range(100):
            assert at is not None
            at = trigger.next_after(at)

    successive = median_us(hundred, max(1, loops // 100)) / 100
    return ours, sim, iter_, successive


def cron_costs(loops: int) -> None:
    print("\n## cron: parse + next fire, stateless (the scheduler's pattern)\n")
    print("| expression | zone | gnomon µs | cronsim µs | croniter µs | gnomon successive µs |")
    print("|---|---|---:|---:|---:|---:|")
    for expr in ("*/5 * * * *", "0 9 * * 1-5", "30 2 * * *", "0 0 L * *"):
        for tz in ("UTC", "Europe/Berlin"):
            ours, sim, iter_, successive = cron_next(expr, tz, loops)
            print(f"| `{expr}` | {tz} | {ours:.1f} | {sim:.1f} | {iter_:.1f} | {successive:.1f} |")


def cold(command: list[str], runs: int = 5) -> float:
    """Median wall time of a fresh process, in milliseconds."""
    samples = []
    for _ in range(runs):
        began = time.perf_counter()
        subprocess.run(command, check=True, capture_output=True, cwd=ROOT)
        samples.append((time.perf_counter() - began) * 1e3)
    return statistics.median(samples)


_BARE_APP = (
    "import typer, sys; from gnomon.cli import next_cmd; app = typer.Typer(); "
    "next_cmd.register(app); app.callback()(lambda: None); "
    "sys.argv = ['gnomon', 'next', '0 9 * * 1-5', '--json']; app()"
)


_OWN_SHARE = (
    "import time, gnomon, gnomon.cli; began = time.perf_counter(); "
    "from gnomon.cli.preview import _plan; import json; "
    "d, f = _plan('0 9 * * 1-5', tz='UTC', after=None, count=5, lat=None, lon=None, dst='cron'); "
    "json.dumps({'description': d, 'fires': [x.isoformat() for x in f]}); "
    "print((time.perf_counter() - began) * 1e3)"
)


def own_share(runs: int = 5) -> float:
    """Cold cost of ``next`` itself once gnomon's package and CLI are imported, in ms."""
    samples = []
    for _ in range(runs):
        done = subprocess.run(
            [sys.executable, "-c", _OWN_SHARE], check=True, capture_output=True, text=True
        )
        samples.append(float(done.stdout))
    return statistics.median(samples)


def cold_costs() -> None:
    python = sys.executable
    gnomon = str(Path(python).with_name("gnomon"))
    rows = [
        ("`python -c pass` (interpreter)", [python, "-c", "pass"]),
        ("`python -c 'import gnomon'` (package init)", [python, "-c", "import gnomon"]),
        ("`next` on a bare Typer app (`python -c`)", [python, "-c", _BARE_APP]),
        ("`gnomon next '0 9 * * 1-5' --json`", [gnomon, "next", "0 9 * * 1-5", "--json"]),
        ("`gnomon --help` (the whole Typer app)", [gnomon, "--help"]),
        ("`gnomon list --help`", [gnomon, "list", "--help"]),
    ]
    print("\n## cold start (median of 5 fresh processes)\n")
    print("| command | ms |")
    print("|---|---:|")
    for label, command in rows:
        try:
            print(f"| {label} | {cold(command):.0f} |")
        except (OSError, subprocess.CalledProcessError) as exc:
            print(f"| {label} | failed: {exc} |")
    print(f"| `next` itself after package + CLI import (in-process timer) | {own_share():.0f} |")


def main() -> None:
    if "--cold" in sys.argv:  # only the cold-start table
        cold_costs()
        return
    quick = "--quick" in sys.argv
    loops = 200 if quick else 2000
    print(f"# triggers bench, {datetime.now(UTC):%Y-%m-%d}, {RUNS} runs, {loops} loops each")
    parse_costs(loops // 4)
    cron_costs(loops)
    cold_costs()


if __name__ == "__main__":
    main()
