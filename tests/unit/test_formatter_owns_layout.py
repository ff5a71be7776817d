"""The formatter owns the layout (issue 10): no ``# fmt: skip`` / ``# fmt: off`` anywhere."""

from __future__ import annotations

import re
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
MARKER = re.compile(r"#\s*fmt:\s*(skip|off)\b")


def ours(path: Path) -> bool:
    """Not under a hidden folder: ``bench/.peers-venv`` (``run.py --peers``) holds others'
    code."""
    return not any(part.startswith(".") for part in path.relative_to(ROOT).parts)


def test_no_formatter_escape_hatches() -> None:
    found = [
        f"{path.relative_to(ROOT)}:{n}"
        for folder in ("src", "tests", "bench")
        for path in sorted((ROOT / folder).rglob("*.py"))
        if ours(path)
        for n, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1)
        if MARKER.search(line) and path != Path(__file__).resolve()
    ]
    assert found == [], f"let ruff format own these lines: {found}"
