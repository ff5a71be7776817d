"""Lint rules hold for src line by line (issue 10): no file- or rule-wide escape for src."""

from __future__ import annotations

import tomllib
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def ruff_lint() -> dict[str, object]:
    config = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))
    lint: dict[str, object] = config["tool"]["ruff"]["lint"]
    return lint


def test_src_has_no_file_wide_ignores() -> None:
    ignores = ruff_lint().get("per-file-ignores", {})
    assert isinstance(ignores, dict)
    assert [glob for glob in ignores if glob.startswith("src")] == []


def test_the_issue_10_rule_families_are_selected() -> None:
    selected = ruff_lint()["select"]
    assert isinstance(selected, list)
    assert {"C90", "PLR09", "T20", "TID", "S"} <= set(selected)
