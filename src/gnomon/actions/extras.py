"""The action kinds that need an optional dependency, and how to install it in *this* gnomon.

``gnomon actions`` lists what is missing with the exact command: for gnomon installed
editable from a checkout (``pip install -e .``, what ``python3 dev.py`` does), the pip of its
own environment installing that checkout's extra; else ``pip install 'gnomon[extra]'``.
"""

from __future__ import annotations

import importlib
import json
import shlex
import sys
from importlib.metadata import PackageNotFoundError, distribution
from pathlib import Path
from urllib.parse import unquote, urlsplit

NEEDS: dict[str, tuple[str, str]] = {  # kind -> (module it imports, extra that installs it)
    "notify": ("apprise", "notify"),
    "mcp": ("mcp", "mcp"),
    "amqp": ("kombu", "amqp"),
    "redis": ("redis", "amqp"),
    "celery": ("celery", "celery"),
}


def missing_module(kind: str) -> str | None:
    """The module ``kind`` needs that does not import here, or None (nothing missing)."""
    if kind not in NEEDS:
        return None
    module = NEEDS[kind][0]
    try:
        importlib.import_module(module)
    except ImportError:
        return module
    return None


def editable_checkout(direct_url: str | None) -> str | None:
    """The folder gnomon is installed editable from, read from its ``direct_url.json``
    (PEP 610) text; None when it is not an editable install of a local folder."""
    if not direct_url:
        return None
    try:
        data = json.loads(direct_url)
    except ValueError:
        return None
    url = data.get("url", "") if isinstance(data, dict) else ""
    dir_info = data.get("dir_info") if isinstance(data, dict) else None
    if not isinstance(dir_info, dict) or not dir_info.get("editable"):
        return None
    parts = urlsplit(url)
    return unquote(parts.path) if parts.scheme == "file" else None


def install_command(extra: str, *, direct_url: str | None, python: str) -> str:
    """The command that installs ``gnomon[extra]`` for the gnomon that ``python`` runs."""
    checkout = editable_checkout(direct_url)
    if checkout is None:
        return f"pip install {shlex.quote(f'gnomon[{extra}]')}"
    pip = Path(python).parent / "pip"
    runner = shlex.quote(str(pip)) if pip.exists() else f"{shlex.quote(python)} -m pip"
    return f"{runner} install -e {shlex.quote(f'{checkout}[{extra}]')}"


def installed_direct_url() -> str | None:
    """This gnomon's ``direct_url.json`` text, if its installer wrote one."""
    try:
        return distribution("gnomon").read_text("direct_url.json")
    except PackageNotFoundError:
        return None


def install_hint(kind: str) -> str | None:
    """``needs X: install with CMD`` for a kind whose dependency is missing, else None."""
    module = missing_module(kind)
    if module is None:
        return None
    command = install_command(
        NEEDS[kind][1], direct_url=installed_direct_url(), python=sys.executable
    )
    return f"unavailable: needs {module}; install it with: {command}"
