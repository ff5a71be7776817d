"""English for cron expressions, via cron-descriptor (imported only when asked for).

cron-descriptor does not validate (``61 * * * *`` reads "At 61 minutes past the hour"), so
callers pass only expressions the engine has accepted; it knows no ``@macros`` either.
"""

from __future__ import annotations

from functools import lru_cache

from gnomon.triggers.cron_syntax import MACROS


@lru_cache(maxsize=512)
def describe_cron(expr: str) -> str:
    """English for a checked expression: ``0 9 * * 1-5`` → "At 09:00, Monday through Friday"."""
    from cron_descriptor import ExpressionDescriptor, Options

    text = " ".join(expr.strip().split())
    text = MACROS.get(text.lower(), text)
    options = Options()  # a fresh one each time: cron-descriptor mutates it
    options.use_24hour_time_format = True
    description: str = ExpressionDescriptor(text, options).get_description()
    return description + _skipped_months(text)


def _skipped_months(expr: str) -> str:
    """Days 29-31 do not exist in every month: say that those months are skipped."""
    fields = expr.split()
    if len(fields) < 5 or not all(part.isdigit() for part in fields[-3].split(",")):
        return ""
    days = [int(part) for part in fields[-3].split(",")]
    lacking = min(days)
    if lacking < 29:
        return ""
    return f", skipping months without day {lacking}"
