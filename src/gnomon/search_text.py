"""What a job search looks in: the job's id, its name and a one-line summary of its action.

The summary says what the action does — a shell command, an HTTP method and URL, an MQTT
topic, a Python or Celery reference, an MCP tool, a notification's title, a sequence's steps —
and is built only from fields that hold no secret: URLs lose their user info, query string and
fragment; strings stored under secret-looking keys of the config are masked wherever they
appear; registered secrets and URL passwords are masked as in every shown text
(:mod:`gnomon.redaction`). A search never finds a job by a secret.

The store keeps :func:`search_text` beside each job (written with the job), so both databases
index the same text. A search for ``query`` finds the jobs where ``fold(query)`` is a literal
substring of ``fold`` of the id, of the name or of the summary (:func:`matches`): no
wildcards, any case (Unicode case folding, ``ß`` finds ``SS``), the same on SQLite and
PostgreSQL.
"""

from __future__ import annotations

import shlex
from collections.abc import Callable, Mapping
from typing import Any
from urllib.parse import urlsplit, urlunsplit

from gnomon.models import ActionSpec, Job
from gnomon.redaction import mask, redact_text, secret_values

SEPARATOR = "\n"
"""Between the fields of a search text, and twice at its end: no field holds it (names are
one line, ids have no control characters, and :func:`_line` removes it from summaries), so a
query that holds it finds nothing, and no query matches across two fields. The two at the
end make every occurrence of a 1-2 character text start a trigram, which lets a trigram index
answer short searches too (:mod:`gnomon.store.dialect`)."""
MAX_SUMMARY_CHARS = 500
MAX_STEPS = 20  # a sequence's steps summarised


def fold(text: str) -> str:
    """``text`` as searched: case-folded, NUL (which PostgreSQL TEXT cannot hold) replaced."""
    return text.replace("\x00", "\ufffd").casefold()


def _line(text: str) -> str:
    if text.isprintable():  # nearly always: no copy character by character
        return text
    return "".join(c if c.isprintable() else " " for c in text)


def _url(value: Any) -> str:
    """A URL without its user info, query and fragment (where tokens travel)."""
    if not isinstance(value, str):
        return ""
    try:
        parts = urlsplit(value)
        host = parts.hostname or ""
        port = parts.port
    except ValueError:
        return ""
    netloc = f"{host}:{port}" if port is not None else host
    return urlunsplit((parts.scheme, netloc, parts.path, "", ""))


def _text(value: Any) -> str:
    return value if isinstance(value, str) else ""


def _shell(config: Mapping[str, Any]) -> str:
    argv = config.get("argv")
    if isinstance(argv, list) and all(isinstance(a, str) for a in argv):
        return shlex.join(argv)
    return ""


def _words(*keys: str) -> Callable[[Mapping[str, Any]], str]:
    """The summary made of the text fields ``keys`` of the config, in that order."""
    return lambda config: " ".join(filter(None, (_text(config.get(k)) for k in keys)))


def _sequence(config: Mapping[str, Any]) -> str:
    steps = config.get("steps")
    return "; ".join(_step(s) for s in steps[:MAX_STEPS]) if isinstance(steps, list) else ""


_DETAILS: dict[str, Callable[[Mapping[str, Any]], str]] = {
    "shell": _shell,
    "http": lambda c: f"{_text(c.get('method')) or 'GET'} {_url(c.get('url'))}",
    "publish": lambda c: _text(c.get("destination")) or _url(c.get("url")),
    "mqtt": _words("topic"),  # never the broker: its URL may hold a password
    "python": _words("ref"),
    "celery": _words("task", "destination"),
    "mcp": _words("tool", "server_name"),
    "notify": _words("title"),  # never the URLs: apprise URLs are credentials
    "sequence": _sequence,
}


def _detail(kind: str, config: Mapping[str, Any]) -> str:
    """The words that say what an action of ``kind`` does (empty for other kinds)."""
    describe = _DETAILS.get(kind)
    return describe(config) if describe else ""


def _step(step: Any) -> str:
    action = step.get("action") if isinstance(step, dict) else None
    if not isinstance(action, dict) or not isinstance(action.get("kind"), str):
        return ""
    config = action.get("config")
    inner = _detail(action["kind"], config if isinstance(config, dict) else {})
    return f"{_text(step.get('id'))}: {action['kind']} {inner}".strip()


def action_summary(action: ActionSpec) -> str:
    """One line (at most :data:`MAX_SUMMARY_CHARS`) saying what ``action`` does, its kind
    first; secrets masked (see the module docstring)."""
    detail = _detail(action.kind, action.config)
    hidden = secret_values(dict(action.config))
    text = redact_text(str(mask(f"{action.kind} {detail}".strip(), hidden)))
    return _line(text)[:MAX_SUMMARY_CHARS]


def search_text(job: Job) -> str:
    """What the store indexes for ``job``: its id, name and action summary, folded."""
    return text_of(job.id, job.name, job.action)


def text_of(job_id: str, name: str, action: ActionSpec) -> str:
    """:func:`search_text` of a job's parts (migrations fill stored jobs with it)."""
    fields = (fold(_line(f)) for f in (job_id, name, action_summary(action)))
    return SEPARATOR.join(fields) + SEPARATOR * 2


def matches(job: Job, query: str) -> bool:
    """The meaning of a search, in Python: ``query`` is a literal substring of the job's id,
    name or action summary, in any case. The store's indexed search finds exactly these."""
    wanted = fold(query)
    return any(wanted in fold(_line(f)) for f in (job.id, job.name, action_summary(job.action)))
