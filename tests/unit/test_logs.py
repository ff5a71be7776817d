"""One log format (gnomon.logs): text or JSON lines in UTC, secrets masked in both, uvicorn's
and Celery's loggers through the same handler; ``--log-format`` / ``GNOMON_LOG_FORMAT``."""

from __future__ import annotations

import io
import json
import logging
import re
from collections.abc import Iterator

import pytest

from gnomon import logs
from gnomon.cli.supervise import as_json_line
from gnomon.cli.typer_app import hoist_global_options
from gnomon.errors import ConfigError
from gnomon.redaction import register_secret
from gnomon.settings import log_format

TEXT_LINE = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z WARNING gnomon\.test: hi there$")


@pytest.fixture
def stream() -> Iterator[io.StringIO]:
    root = logging.getLogger()
    level = root.level
    out = io.StringIO()
    yield out
    for handler in [h for h in root.handlers if h.get_name() == "gnomon"]:
        root.removeHandler(handler)
    root.setLevel(level)


def lines(stream: io.StringIO) -> list[str]:
    return stream.getvalue().splitlines()


def test_text_line_in_utc(stream: io.StringIO) -> None:
    logs.setup(log_format="text", stream=stream)
    logging.getLogger("gnomon.test").warning("hi %s", "there")
    logging.getLogger("gnomon.test").info("below the level")
    assert len(lines(stream)) == 1
    assert TEXT_LINE.match(lines(stream)[0]), lines(stream)


def test_json_line_with_its_exception(stream: io.StringIO) -> None:
    logs.setup(log_format="json", stream=stream)
    try:
        raise ValueError("boom")
    except ValueError:
        logging.getLogger("gnomon.test").exception("run %d failed", 7)
    [line] = lines(stream)  # the traceback inside the object, not on lines of its own
    found = json.loads(line)
    assert found["level"] == "ERROR"
    assert found["logger"] == "gnomon.test"
    assert found["message"] == "run 7 failed"
    assert re.match(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$", found["time"])
    assert "ValueError: boom" in found["exception"]


@pytest.mark.parametrize("fmt", ["text", "json"])
def test_secrets_never_reach_a_log(stream: io.StringIO, fmt: str) -> None:
    register_secret("hunter2-log-secret")
    logs.setup(log_format=fmt, stream=stream)
    log = logging.getLogger("gnomon.test")
    log.warning("calling redis://user:pa55w0rd@cache:6379 with %s", "hunter2-log-secret")
    try:
        raise RuntimeError("token hunter2-log-secret refused")
    except RuntimeError:
        log.exception("failed")
    text = stream.getvalue()
    assert "hunter2-log-secret" not in text
    assert "pa55w0rd" not in text
    assert "redis://user:***@cache:6379" in text


def test_setup_again_replaces_its_handler_and_keeps_others(stream: io.StringIO) -> None:
    root = logging.getLogger()
    other = logging.NullHandler()
    root.addHandler(other)
    try:
        logs.setup(log_format="text", stream=io.StringIO())
        logs.setup(log_format="json", stream=stream)
        assert [h.get_name() for h in root.handlers].count("gnomon") == 1
        assert other in root.handlers
    finally:
        root.removeHandler(other)


def test_uvicorn_and_celery_loggers_use_the_same_handler(stream: io.StringIO) -> None:
    own = logging.StreamHandler(io.StringIO())  # what uvicorn's or Celery's config would add
    for name in ("uvicorn", "uvicorn.error", "celery"):
        logging.getLogger(name).addHandler(own)
        logging.getLogger(name).propagate = False
        logging.getLogger(name).setLevel(logging.ERROR)
    logging.getLogger("celery").disabled = True  # as a dictConfig may leave it
    logs.setup(log_format="json", stream=stream)
    logging.getLogger("uvicorn.error").warning("from uvicorn")
    logging.getLogger("celery").warning("from celery")
    assert [json.loads(line)["logger"] for line in lines(stream)] == ["uvicorn.error", "celery"]


def test_celery_setup_logging_signal_installs_gnomon_s_format(
    stream: io.StringIO, monkeypatch: pytest.MonkeyPatch
) -> None:
    from celery.signals import setup_logging

    import gnomon.celery  # connects its receiver

    monkeypatch.setenv("GNOMON_LOG_FORMAT", "json")
    receivers = setup_logging.send(
        sender=None, loglevel="INFO", logfile=None, format="", colorize=False
    )
    assert any(r is gnomon.celery.one_log_format for r, _ in receivers)
    logging.getLogger("celery.worker").info("celery@host ready.")
    handler = next(h for h in logging.getLogger().handlers if h.get_name() == "gnomon")
    assert isinstance(handler.formatter, logs.JsonFormatter)
    assert logging.getLogger().level == logging.INFO


def test_log_format_setting() -> None:
    assert log_format({}) == "text"
    assert log_format({"GNOMON_LOG_FORMAT": "JSON"}) == "json"
    with pytest.raises(ConfigError, match="GNOMON_LOG_FORMAT: 'xml' is not one of text, json"):
        log_format({"GNOMON_LOG_FORMAT": "xml"})


def test_log_format_is_a_global_option_after_the_command_too() -> None:
    assert hoist_global_options(["up", "--log-format", "json", "--demo"]) == [
        "--log-format",
        "json",
        "up",
        "--demo",
    ]
    assert hoist_global_options(["worker", "--log-format=json"]) == ["--log-format=json", "worker"]


def test_supervisor_json_lines() -> None:
    child = json.dumps({"time": "t", "level": "WARNING", "logger": "gnomon.x", "message": "m"})
    assert json.loads(as_json_line(child, "scheduler")) == {
        "time": "t",
        "level": "WARNING",
        "logger": "gnomon.x",
        "message": "m",
        "process": "scheduler",
    }
    banner = json.loads(as_json_line(" -------------- celery@host v5", "worker"))
    assert banner["message"] == " -------------- celery@host v5"
    assert banner["process"] == "worker"
    assert banner["logger"] == "gnomon.up"
