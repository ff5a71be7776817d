"""Compare two source trees on one workload, run after run in turn: ``before``, ``after``,
``before``… so that a noisy machine affects both alike. Prints each figure's medians and the
ratio after/before.

    python bench/compare.py BEFORE_SRC AFTER_SRC periodic --repeat 3 [--quick] [--window S]

``BEFORE_SRC`` / ``AFTER_SRC`` are folders holding the ``gnomon`` package (e.g. a worktree's
``src``); each run is ``bench/run.py WORKLOAD --repeat 1`` with that folder first on
``PYTHONPATH`` (the scheduler process it starts inherits it).
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
from pathlib import Path

RUN = Path(__file__).resolve().parent / "run.py"


def once(src: Path, workload: str, quick: bool, extra: list[str]) -> dict[str, float]:
    with tempfile.TemporaryDirectory() as tmp:
        out = Path(tmp) / "result.json"
        env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(src), str(RUN.parent.parent)])}
        command = [sys.executable, str(RUN), workload, "--repeat", "1", "--json", str(out), *extra]
        subprocess.run(
            [*command, *(["--quick"] if quick else [])],
            env=env,
            check=True,
            stdout=subprocess.DEVNULL,
        )
        data = json.loads(out.read_text())
    figures: dict[str, float] = data[workload] if workload in data else next(iter(data.values()))
    return figures


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("before", type=Path)
    parser.add_argument("after", type=Path)
    parser.add_argument("workload", choices=["burst", "periodic", "idle"])
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--quick", action="store_true")
    parser.add_argument("--window", type=float, default=None, help="seconds per window")
    args = parser.parse_args()
    extra = [] if args.window is None else ["--window", str(args.window)]
    runs: dict[str, list[dict[str, float]]] = {"before": [], "after": []}
    for i in range(args.repeat):
        for name in ("before", "after"):
            result = once(getattr(args, name), args.workload, args.quick, extra)
            runs[name].append(result)
            shown = ", ".join(f"{k}={v:.4g}" for k, v in result.items())
            print(f"{args.workload} {name} {i + 1}/{args.repeat}: {shown}", flush=True)
    print(f"\n== {args.workload}: medians of {args.repeat} runs each ==")
    print(f"  {'figure':20} {'before':>12} {'after':>12} {'after/before':>13}")
    for key in runs["before"][0]:
        before = statistics.median(r[key] for r in runs["before"])
        after = statistics.median(r[key] for r in runs["after"])
        ratio = f"{after / before:.3f}" if before else "-"
        print(f"  {key:20} {before:>12.4g} {after:>12.4g} {ratio:>13}")


if __name__ == "__main__":
    main()
