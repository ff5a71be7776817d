"""Example gnomon plugin: the ``backup`` action kind."""

from __future__ import annotations

import json
from collections.abc import Mapping
from pathlib import Path
from typing import Any, ClassVar

from gnomon.actions.base import RunContext
from gnomon.errors import InvalidAction
from gnomon.models import Outcome

COMMANDS = ("run_backup", "prune")


class BackupAction:
    kind: ClassVar[str] = "backup"
    secret_fields: ClassVar[frozenset[str]] = frozenset()

    def validate(self, config: Mapping[str, Any]) -> dict[str, Any]:
        command = config.get("command")
        if command not in COMMANDS:
            raise InvalidAction(f"backup: command {command!r} is not one of {', '.join(COMMANDS)}")
        args = config.get("args", {})
        if not isinstance(args, dict) or not isinstance(args.get("target"), str):
            raise InvalidAction("backup: args.target (a directory) is required")
        if command == "prune" and not (isinstance(args.get("keep"), int) and args["keep"] >= 1):
            raise InvalidAction("backup prune: args.keep must be a whole number of at least 1")
        return {"command": command, "args": dict(args)}

    def execute(self, config: Mapping[str, Any], ctx: RunContext) -> Outcome:
        args = config["args"]
        target = Path(args["target"])
        target.mkdir(parents=True, exist_ok=True)
        if config["command"] == "prune":
            files = sorted(target.glob("backup-*.json"))
            removed = files[: max(0, len(files) - args["keep"])]
            for file in removed:
                file.unlink()
            return Outcome.success({"removed": [f.name for f in removed]})
        source = Path(args.get("source", "."))
        listing = sorted(str(p) for p in source.iterdir()) if source.is_dir() else []
        stamp = ctx.scheduled_for.strftime("%Y%m%dT%H%M%SZ")
        out = target / f"backup-{ctx.job_id}-{stamp}.json"  # one file per fire: idempotent
        out.write_text(json.dumps({"job": ctx.job_id, "run": ctx.run_id, "files": listing}))
        return Outcome.success({"file": str(out), "files": len(listing)})
