"""``gnomon schedule KIND SPEC [options]`` — schedule any action kind in one line,
and ``gnomon actions`` — the action kinds this installation knows.

    gnomon schedule notification "in 5 minutes" --message "Hello!"
    gnomon schedule shell "0 2 * * *" -- /usr/local/bin/backup.sh --fast
    gnomon schedule http "every 15m" --url https://example.org/hook --method POST --json-body '{}'
    gnomon schedule mqtt "sunset+20m" --topic coop/door/close --payload close
    gnomon schedule mcp_tool "0 12 * * *" --server-name time --tool-name get_current_time
    gnomon schedule plugin_command "0 2 * * *" --plugin-name backup --command-name run_backup \\
        --args '{"target": "/data"}' --name "Nightly Backup"
    gnomon schedule sequence "0 3 * * *" --file steps.yaml
    gnomon schedule celery "every 5m" --task myapp.tasks.add --args '[2, 3]' \\
        --broker redis://127.0.0.1:6379/0 [--backend URL] [--queue Q] [--priority N]
"""

from __future__ import annotations

import inspect
import json
import re
from collections.abc import Callable
from pathlib import Path
from typing import Any

import typer

from gnomon.cli import output
from gnomon.cli.job_options import AS_JSON, PAUSED, PLACE, POLICY, option, with_options
from gnomon.cli.jobs import create_job, open_scheduler, warn_of_missing_program
from gnomon.errors import InvalidSpec
from gnomon.models import ActionSpec

KIND_ALIASES = {"notification": "notify", "mcp_tool": "mcp", "plugin_command": "plugin"}


def _json(text: str | None, what: str) -> Any:
    if text is None:
        return None
    try:
        return json.loads(text)
    except json.JSONDecodeError as exc:
        raise InvalidSpec(f"{what}: not valid JSON ({exc.msg} at column {exc.colno})") from None


def _need(value: Any, option: str, kind: str) -> Any:
    if value in (None, [], ""):
        raise InvalidSpec(f"{kind}: {option} is required")
    return value


def load_steps_file(path: str) -> dict[str, Any]:
    """A sequence config from a YAML or TOML file (``steps:`` and optional ``on_failure:``).

    A file that is not one says where it fails but never echoes what it holds: ``--file
    /etc/shadow`` must not print the file. Once it is a steps file (a mapping of ``steps``
    and ``on_failure`` only), the action's own checks name its steps as usual.
    """
    text = _read_small_text(path)
    data = _parse_steps(text, path)
    if not isinstance(data, dict) or "steps" not in data or set(data) - STEPS_FILE_KEYS:
        raise InvalidSpec(
            f"--file {path}: not a steps file: it must hold a mapping with "
            "'steps' (and optionally 'on_failure'), nothing else"
        )
    return data


STEPS_FILE_KEYS = frozenset({"steps", "on_failure"})
NO_ALIASES = "aliases (*name) are not allowed"


def _read_small_text(path: str) -> str:
    from gnomon.limits import MAX_CONFIG_BYTES

    try:
        with Path(path).open("rb") as handle:
            raw = handle.read(MAX_CONFIG_BYTES + 1)
    except OSError as exc:
        raise InvalidSpec(f"--file {path}: {exc.strerror or 'cannot be read'}") from None
    if len(raw) > MAX_CONFIG_BYTES:
        raise InvalidSpec(f"--file {path}: larger than {MAX_CONFIG_BYTES} bytes")
    try:
        return raw.decode()
    except UnicodeDecodeError:
        raise InvalidSpec(f"--file {path}: not UTF-8 text") from None


def _parse_steps(text: str, path: str) -> Any:
    """YAML (aliases refused: they can expand a small file into a huge config) or TOML."""
    if Path(path).suffix == ".toml":
        import tomllib

        try:
            return tomllib.loads(text)
        except tomllib.TOMLDecodeError as exc:
            found = re.search(r" \(at line \d+, column \d+\)", str(exc))
            where = found[0] if found else ""
            raise InvalidSpec(f"--file {path}: not valid TOML{where}") from None
    import yaml

    try:
        return yaml.load(text, Loader=_loader())  # noqa: S506, TID251 - _loader() is a SafeLoader without aliases
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f" (line {mark.line + 1}, column {mark.column + 1})" if mark else ""
        if getattr(exc, "problem", None) == NO_ALIASES:  # yaml's other problems may quote it
            where += f": {NO_ALIASES}"
        raise InvalidSpec(f"--file {path}: not valid YAML{where}") from None


def _loader() -> type:
    import yaml

    class StepsLoader(yaml.SafeLoader):
        def compose_node(self, parent: Any, index: Any) -> Any:
            if self.check_event(yaml.AliasEvent):
                event = self.peek_event()  # type: ignore[no-untyped-call]
                raise yaml.composer.ComposerError(None, None, NO_ALIASES, event.start_mark)
            return super().compose_node(parent, index)

    return StepsLoader


def _headers(values: list[str]) -> dict[str, str]:
    headers = {}
    for item in values:
        name, sep, value = item.partition(":")
        if not sep or not name.strip():
            raise InvalidSpec(f"--header {item!r}: write it as 'Name: value'")
        headers[name.strip()] = value.strip()
    return headers


Builder = Callable[[dict[str, Any]], ActionSpec]


def _notify(o: dict[str, Any]) -> ActionSpec:
    from gnomon.settings import Settings

    urls = o["url"] or list(Settings.from_env().notify_urls)
    if not urls:
        raise InvalidSpec("notification: give --url (apprise URL) or set GNOMON_NOTIFY_URLS")
    config = {"urls": urls, "body": _need(o["message"], "--message", "notification")}
    if o["title"]:
        config["title"] = o["title"]
    return ActionSpec(kind="notify", config=config)


def _http(o: dict[str, Any]) -> ActionSpec:
    config: dict[str, Any] = {
        "url": _need(o["url"] and o["url"][0], "--url", "http"),
        "method": o["method"] or "GET",
    }
    if o["json_body"] is not None:
        config["json"] = _json(o["json_body"], "--json-body")
    if o["header"]:
        config["headers"] = _headers(o["header"])
    return ActionSpec(kind="http", config=config)


def _mqtt(o: dict[str, Any]) -> ActionSpec:
    config: dict[str, Any] = {
        "topic": _need(o["topic"], "--topic", "mqtt"),
        "payload": o["payload"] or "",
        "qos": o["qos"],
    }
    if o["retain"]:
        config["retain"] = True
    if o["await_ack"]:
        config.update(await_ack=True, ack_timeout=o["ack_timeout"])
    return ActionSpec(kind="mqtt", config=config)


def _mcp(o: dict[str, Any]) -> ActionSpec:
    config = {
        "server_name": _need(o["server_name"], "--server-name", "mcp_tool"),
        "tool": _need(o["tool_name"], "--tool-name", "mcp_tool"),
        "arguments": _json(o["args"], "--args") or {},
    }
    return ActionSpec(kind="mcp", config=config)


def _plugin(o: dict[str, Any]) -> ActionSpec:
    kind = _need(o["plugin_name"], "--plugin-name", "plugin_command")
    config = {
        "command": _need(o["command_name"], "--command-name", "plugin_command"),
        "args": _json(o["args"], "--args") or {},
    }
    return ActionSpec(kind=kind, config=config)


def _shell(o: dict[str, Any]) -> ActionSpec:
    return ActionSpec(
        kind="shell", config={"argv": _need(o["command"], "a command after --", "shell")}
    )


def _python(o: dict[str, Any]) -> ActionSpec:
    return ActionSpec(
        kind="python",
        config={
            "ref": _need(o["ref"], "--ref", "python"),
            "args": _json(o["args"], "--args") or [],
            "kwargs": _json(o["kwargs"], "--kwargs") or {},
        },
    )


def _sequence(o: dict[str, Any]) -> ActionSpec:
    return ActionSpec(
        kind="sequence", config=load_steps_file(_need(o["file"], "--file", "sequence"))
    )


def _celery(o: dict[str, Any]) -> ActionSpec:
    config: dict[str, Any] = {"task": _need(o["task"], "--task", "celery")}
    if o["broker"] is None and o["destination"] is None:
        raise InvalidSpec("celery: give --broker URL or --destination NAME")
    config["args"] = _json(o["args"], "--args") if o["args"] is not None else []
    config["kwargs"] = _json(o["kwargs"], "--kwargs") if o["kwargs"] is not None else {}
    for key in ("broker", "destination", "backend", "queue", "priority", "expires"):
        if o[key] is not None:
            config[key] = o[key]
    return ActionSpec(kind="celery", config=config)


BUILDERS: dict[str, Builder] = {
    "notify": _notify,
    "http": _http,
    "mqtt": _mqtt,
    "mcp": _mcp,
    "plugin": _plugin,
    "shell": _shell,
    "python": _python,
    "sequence": _sequence,
    "celery": _celery,
}


ACTION: tuple[inspect.Parameter, ...] = (
    option("message", str | None, "--message", help="notification: the text."),
    option("title", str | None, "--title", help="notification: a title."),
    option(
        "url", list[str], "--url", default=[], help="http: the URL; notification: apprise URLs."
    ),
    option("method", str | None, "--method", help="http: GET, POST, …"),
    option("json_body", str | None, "--json-body", help="http: a JSON body."),
    option("header", list[str], "--header", default=[], help="http: 'Name: value' (repeatable)."),
    option("topic", str | None, "--topic", help="mqtt: the topic."),
    option("payload", str | None, "--payload", help="mqtt: the payload."),
    option("qos", int, "--qos", default=1, help="mqtt: 0, 1 or 2."),
    option("retain", bool, "--retain", default=False, help="mqtt: retained message."),
    option("await_ack", bool, "--await-ack", default=False, help="mqtt: wait for the ack."),
    option("ack_timeout", float, "--ack-timeout", default=10.0, help="mqtt: seconds to wait."),
    option("server_name", str | None, "--server-name", help="mcp_tool: server."),
    option("tool_name", str | None, "--tool-name", help="mcp_tool: tool."),
    option("plugin_name", str | None, "--plugin-name", help="plugin_command: the plugin's kind."),
    option("command_name", str | None, "--command-name", help="plugin: the command."),
    option("args", str | None, "--args", help="JSON arguments (mcp/plugin/python/celery)."),
    option("kwargs", str | None, "--kwargs", help="python/celery: JSON keyword arguments."),
    option("task", str | None, "--task", help="celery: the task's name."),
    option("broker", str | None, "--broker", help="celery: the broker URL."),
    option("destination", str | None, "--destination", help="celery: a named destination."),
    option("backend", str | None, "--backend", help="celery: result backend URL."),
    option("queue", str | None, "--queue", help="celery: the queue."),
    option("priority", int | None, "--priority", help="celery: 0-255."),
    option("expires", float | None, "--expires", help="celery: seconds after the fire's time."),
    option("ref", str | None, "--ref", help="python: 'package.module:function'."),
    option("file", str | None, "--file", help="sequence: a YAML or TOML file."),
    option(
        "config",
        str | None,
        "--config",
        help="Any other kind (amqp, redis, a plugin's): its config as a JSON object.",
    ),
)
KIND_HELP = "A kind `gnomon actions` lists, or notification | mcp_tool | plugin_command."


def build_action(kind: str, command: list[str] | None, options: dict[str, Any]) -> ActionSpec:
    """The action of ``kind`` (a kind ``gnomon actions`` lists, or a seed-style alias) from
    the ``ACTION`` options; raises :class:`InvalidSpec` naming the option at fault."""
    from gnomon.actions.registry import known_kinds

    key = KIND_ALIASES.get(kind, kind)
    if key not in BUILDERS and key not in known_kinds():
        names = sorted({*known_kinds(), *KIND_ALIASES})
        raise InvalidSpec(f"unknown kind {kind!r}; use one of: {', '.join(names)}")
    if command and key != "shell":
        hint = ""
        if key == "http" and command[0].lstrip().startswith(("{", "[")):
            hint = "; --json now prints the job as JSON: give the body with --json-body"
        raise InvalidSpec(f"{kind}: unexpected arguments {command!r}{hint}")
    if options.get("config") is not None:
        if key in BUILDERS:
            raise InvalidSpec(f"--config: {kind} takes its own options, see gnomon schedule --help")
        config = _json(options["config"], "--config")
        if not isinstance(config, dict):
            raise InvalidSpec("--config: must be a JSON object")
        return ActionSpec(kind=key, config=config)
    if key in BUILDERS:
        return BUILDERS[key]({**options, "command": command})
    if options.get("command_name") is not None:  # a plugin kind named directly
        return _plugin({**options, "plugin_name": key})
    raise InvalidSpec(f"{kind}: give its config with --config JSON")


@with_options(ACTION, POLICY, PLACE)
def schedule(  # noqa: PLR0913 - one parameter per command-line option (Typer)
    kind: str = typer.Argument(..., help=KIND_HELP),
    spec: str = typer.Argument(..., help="When: 'every 15m', 'in 5 minutes', cron, 'sunset+20m'…"),
    command: list[str] | None = typer.Argument(None, help="shell: the command after --."),
    *,
    job_id: str | None = typer.Option(None, "--id", help="Job id (default: generated)."),
    name: str | None = typer.Option(None, "--name", help="A name for people."),
    tz: str = typer.Option("UTC", "--tz", help="Time zone of the schedule (IANA name)."),
    paused: bool = PAUSED,
    as_json: bool = AS_JSON,
    json_output: bool = typer.Option(False, "--json-output", hidden=True),  # --json's old name
    **options: Any,
) -> None:
    """Schedule an action of any kind (see `gnomon actions`)."""
    from gnomon import service

    if json_output:
        output.warn("--json-output is deprecated: use --json")
    action = build_action(kind, command, options)
    warn_of_missing_program(action)
    with open_scheduler() as scheduler:
        job = create_job(
            scheduler, spec, action, job_id=job_id, name=name, tz=tz, paused=paused, options=options
        )
        database = service.database_url(scheduler)
    line = output.job_line(job, f"scheduled {action.kind}")
    output.show_write(output.job_json(job), line, database, as_json=as_json or json_output)


def actions(as_json: bool = typer.Option(False, "--json", help="Print JSON.")) -> None:
    """List the action kinds: built in, and from installed plugins (gnomon.actions); a kind
    whose optional dependency is missing says the command that installs it here."""
    from rich.table import Table

    from gnomon.actions.extras import install_hint
    from gnomon.actions.registry import builtin_kinds, get_action, plugin_kinds

    found = [(k, v, "built-in") for k, v in builtin_kinds().items()]
    found += [(k, v, "plugin") for k, v in plugin_kinds().items()]
    listed = []
    for kind, ref, source in sorted(found):
        try:
            get_action(kind)
            status = install_hint(kind) or "ok"
        except InvalidSpec as exc:
            status = str(exc)
        listed.append({"kind": kind, "source": source, "implementation": ref, "status": status})
    if as_json:
        output.print_json(listed)
        return
    table = Table(title=f"{len(listed)} action kind(s)", title_justify="left")
    for column in ("kind", "source", "implementation", "status"):
        table.add_column(column, overflow="fold")
    for item in listed:
        table.add_row(*(item[c] for c in ("kind", "source", "implementation", "status")))
    output.console.print(table)


def register(app: typer.Typer) -> None:
    app.command(context_settings={"allow_interspersed_args": True})(schedule)
    app.command()(actions)
