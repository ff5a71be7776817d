"""One log format for every gnomon process: ``gnomon up``, ``scheduler``, ``worker`` (and
``celery -A gnomon.celery worker``), ``api`` and ``mcp``, with uvicorn's and Celery's
loggers going through the same handler.

- ``text`` (default): ``2026-03-02T07:00:00.123Z WARNING gnomon.scheduler: message``, times
  in UTC, one line per record (a traceback follows on its own lines).
- ``json``: one JSON object per line, ``{"time", "level", "logger", "message"}``, plus
  ``"exception"`` (the traceback as text) when there is one; what journald, Loki or jq read.
  ``gnomon up --broker`` adds ``"process"`` (scheduler, worker, api, flower, up) to each of
  its children's lines.

Chosen with ``--log-format`` (a global option) or ``GNOMON_LOG_FORMAT``
(:func:`gnomon.settings.log_format`). Every line goes through
:func:`gnomon.redaction.redact_text`: a registered secret or a password in a URL never
reaches a log, whatever logged it. Logs go to stderr; stdout is the command's output.
"""

from __future__ import annotations

import json
import logging
import sys
import time
from typing import IO, Any

from gnomon.redaction import redact_text

TEXT = "%(asctime)s %(levelname)s %(name)s: %(message)s"
_HANDLER_NAME = "gnomon"


def utc_time(record: logging.LogRecord) -> str:
    """The record's time as ``2026-03-02T07:00:00.123Z``."""
    whole = time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(record.created))
    return f"{whole}.{int(record.msecs):03d}Z"


class TextFormatter(logging.Formatter):
    """The text line, in UTC, secrets masked."""

    def __init__(self) -> None:
        super().__init__(TEXT)

    def formatTime(self, record: logging.LogRecord, datefmt: str | None = None) -> str:
        return utc_time(record)

    def format(self, record: logging.LogRecord) -> str:
        return redact_text(super().format(record))


class JsonFormatter(logging.Formatter):
    """One JSON object per record (see the module's doc), secrets masked."""

    def format(self, record: logging.LogRecord) -> str:
        line: dict[str, Any] = {
            "time": utc_time(record),
            "level": record.levelname,
            "logger": record.name,
            "message": redact_text(record.getMessage()),
        }
        if record.exc_info:
            line["exception"] = redact_text(self.formatException(record.exc_info))
        elif record.exc_text:
            line["exception"] = redact_text(record.exc_text)
        return json.dumps(line, ensure_ascii=False, default=str)


def formatter(log_format: str) -> logging.Formatter:
    return JsonFormatter() if log_format == "json" else TextFormatter()


def setup(
    *, level: int = logging.WARNING, log_format: str | None = None, stream: IO[str] | None = None
) -> None:
    """Send every logger's records at ``level`` and above to stderr in ``log_format``
    (default: :func:`gnomon.settings.log_format`). Replaces the handler an earlier call
    installed (calling it again is safe) and leaves other handlers of the root logger alone;
    uvicorn's and Celery's loggers lose their own handlers and propagate to the root."""
    from gnomon.settings import log_format as configured

    handler = logging.StreamHandler(stream or sys.stderr)
    handler.set_name(_HANDLER_NAME)
    handler.setFormatter(formatter(log_format or configured()))
    root = logging.getLogger()
    for old in [h for h in root.handlers if h.get_name() == _HANDLER_NAME]:
        root.removeHandler(old)
    root.addHandler(handler)
    root.setLevel(level)
    logging.captureWarnings(True)  # a library's warning is a log line too (py.warnings)
    for name in ("uvicorn", "uvicorn.error", "uvicorn.access", "celery", "celery.task"):
        logger = logging.getLogger(name)  # their own handlers would print their own format
        for old in list(logger.handlers):
            logger.removeHandler(old)
        logger.propagate = True
        logger.disabled = False  # as a dictConfig with disable_existing_loggers leaves them
        logger.setLevel(logging.NOTSET)  # the root's level (uvicorn then sets its own)
