"""Parse time of the schedule language: every phrase of the corpus, read many times.

Run: ``.venv/bin/python -m bench.language_bench``. Prints the mean, median and worst time
per phrase in milliseconds (the goal is under 10 ms each) and the slowest phrases. Unit
tests assert no timings; this script is where parse speed is measured.
"""

from __future__ import annotations

import statistics
import time

from tests.unit.triggers.test_language_corpus import BERLIN, FAMILIES, NOW

from gnomon.triggers import parse

ROUNDS = 20


def main() -> None:
    phrases = [phrase for group in FAMILIES.values() for phrase in group]
    for phrase in phrases:  # warm: imports and caches, as in a long-running scheduler
        parse(phrase, tz=BERLIN, now=NOW)
    timings: dict[str, float] = {}
    for phrase in phrases:
        best = []
        for _ in range(ROUNDS):
            start = time.perf_counter()
            parse(phrase, tz=BERLIN, now=NOW)
            best.append(time.perf_counter() - start)
        timings[phrase] = statistics.median(best) * 1000
    values = sorted(timings.values())
    print(f"{len(values)} phrases x {ROUNDS} rounds (median per phrase)")
    print(f"mean {statistics.mean(values):.3f} ms, median {statistics.median(values):.3f} ms")
    print(f"p99 {values[int(len(values) * 0.99)]:.3f} ms, worst {values[-1]:.3f} ms")
    for phrase, ms in sorted(timings.items(), key=lambda item: -item[1])[:5]:
        print(f"  {ms:7.3f} ms  {phrase}")


if __name__ == "__main__":
    main()
