"""Two boundaries read off the source (AST), so a new line that crosses one fails here.

1. The faces (``api``, ``cli``, ``web``, ``devices``) reach the store only through the
   scheduler and :mod:`gnomon.service`: none imports ``gnomon.store`` or ``sqlalchemy`` (not
   even inside a function or under ``TYPE_CHECKING``), and none touches a ``.store`` attribute.
2. Every ``GNOMON_*`` setting is read in :mod:`gnomon.settings` only: elsewhere no
   ``os.environ[...]``, ``os.environ.get(...)``, ``os.getenv(...)`` nor Typer ``envvar=`` names
   a ``GNOMON_`` variable, and no module writes ``os.environ`` (a child's environment is built
   as a new dict, as the shell and mcp actions do).
"""

from __future__ import annotations

import ast
from collections.abc import Iterator
from pathlib import Path

import pytest

SRC = Path(__file__).resolve().parents[2] / "src" / "gnomon"
FACES = ("api", "cli", "web", "devices", "mcp")
FORBIDDEN = ("gnomon.store", "sqlalchemy")
ENV_WRITERS = {"update", "setdefault", "pop", "popitem", "clear", "__setitem__", "__delitem__"}


def _modules(*folders: str) -> Iterator[Path]:
    roots = [SRC / f for f in folders] if folders else [SRC]
    for root in roots:
        yield from sorted(root.rglob("*.py"))


def _name(path: Path) -> str:
    return str(path.relative_to(SRC.parent))


def face_violations(source: str) -> list[str]:
    """Imports of the store or SQLAlchemy, and ``.store`` attributes, in one face module."""
    found = []
    for node in ast.walk(ast.parse(source)):
        names: list[str] = []
        if isinstance(node, ast.Import):
            names = [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom) and node.module:
            names = [node.module] + [f"{node.module}.{alias.name}" for alias in node.names]
        crossing = [n for n in names if any(n == f or n.startswith(f"{f}.") for f in FORBIDDEN)]
        if crossing:
            found.append(f"line {node.lineno}: imports {crossing[0]}")
        if isinstance(node, ast.Attribute) and node.attr == "store":
            found.append(f"line {node.lineno}: uses .store ({ast.unparse(node)})")
    return found


def _is_environ(node: ast.AST) -> bool:
    """``os.environ`` or a bare ``environ``."""
    if isinstance(node, ast.Attribute):
        return node.attr == "environ" and isinstance(node.value, ast.Name)
    return isinstance(node, ast.Name) and node.id == "environ"


def _gnomon_name(node: ast.AST | None) -> bool:
    return isinstance(node, ast.Constant) and str(node.value).startswith("GNOMON_")


def settings_violations(source: str) -> list[str]:
    """Reads of a ``GNOMON_*`` variable and writes of ``os.environ`` in one module."""
    found = []
    for node in ast.walk(ast.parse(source)):
        line = getattr(node, "lineno", 0)
        if isinstance(node, ast.Subscript) and _is_environ(node.value):
            if isinstance(node.ctx, ast.Store | ast.Del):
                found.append(f"line {line}: writes os.environ")
            elif _gnomon_name(node.slice):
                found.append(f"line {line}: reads {ast.unparse(node)}")
        elif isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute):
            func, first = node.func, node.args[0] if node.args else None
            if _is_environ(func.value) and func.attr in ENV_WRITERS:
                found.append(f"line {line}: writes os.environ ({func.attr})")
            elif _is_environ(func.value) and func.attr == "get" and _gnomon_name(first):
                found.append(f"line {line}: reads {ast.unparse(node)}")
            elif func.attr in ("getenv", "putenv") and _gnomon_name(first):
                found.append(f"line {line}: {ast.unparse(node)}")
        if isinstance(node, ast.keyword) and node.arg == "envvar" and _gnomon_name(node.value):
            found.append(f"line {node.value.lineno}: reads {ast.unparse(node.value)} (envvar)")
    return found


@pytest.mark.parametrize("path", list(_modules(*FACES)), ids=_name)
def test_a_face_reaches_the_store_only_through_the_service(path: Path) -> None:
    assert face_violations(path.read_text(encoding="utf-8")) == [], _name(path)


@pytest.mark.parametrize(
    "path", [p for p in _modules() if p.name != "settings.py" or p.parent != SRC], ids=_name
)
def test_gnomon_settings_are_read_in_settings_only(path: Path) -> None:
    assert settings_violations(path.read_text(encoding="utf-8")) == [], _name(path)


def test_the_face_check_finds_each_kind_of_crossing() -> None:
    source = """
from sqlalchemy import text
import gnomon.store.admin
from gnomon.store import SqlStore
from gnomon import store
if TYPE_CHECKING:
    from gnomon.store.admin import Scope
def f(scheduler):
    return scheduler.store.get_run(1)
"""
    assert [v.split(":")[0] for v in face_violations(source)] == [
        "line 2",
        "line 3",
        "line 4",
        "line 5",
        "line 7",
        "line 9",
    ]
    assert face_violations("from gnomon.service import Scope\nfrom gnomon import service\n") == []


def test_the_settings_check_finds_each_kind_of_crossing() -> None:
    source = """
import os
a = os.environ["GNOMON_LATITUDE"]
b = os.environ.get("GNOMON_NOTIFY_URLS", "")
c = os.getenv("GNOMON_X")
os.environ["GNOMON_DATABASE_URL"] = "x"
os.environ.update(PATH="/bin")
del os.environ["HOME"]
opt = typer.Option(None, "--db", envvar="GNOMON_DATABASE_URL")
"""
    assert len(settings_violations(source)) == 7
    fine = 'env = {**os.environ, **extra}\nhome = os.environ.get("HOME")\n'
    assert settings_violations(fine) == []
