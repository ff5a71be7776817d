"""``"package.module:attribute"`` references to callables.

Only references cross process boundaries and the store, never pickled functions.

A function defined in a script run as ``python script.py`` (module ``__main__``) cannot be
imported by another process: its reference ``"__main__:name"`` resolves only in the process
that defined it, from a registry filled when the script schedules it (:func:`reference_of`).
Any other process — ``gnomon up`` on the same database — fails such a run with a clear,
permanent error (:class:`InvalidAction`: never retried).
"""

from __future__ import annotations

import importlib
import os
import re
import sys
from collections.abc import Callable
from typing import Any

from gnomon.errors import InvalidAction

SCRIPT = "__main__"
_script_functions: dict[str, Callable[..., Any]] = {}
"""The functions of this process's ``__main__`` that were scheduled, by qualified name."""
_REF = re.compile(r"^[A-Za-z_][\w]*(\.[A-Za-z_][\w]*)*:[A-Za-z_][\w]*(\.[A-Za-z_][\w]*)*$")


def import_folders() -> tuple[str, ...]:
    """The folders this process imports ``--python`` references from: its ``sys.path`` but
    the interpreter's own (standard library, installed packages, the console script's
    folder), e.g. the current directory and ``GNOMON_PYTHONPATH``'s folders under
    ``gnomon up``, or a script's folder. What ``gnomon status`` shows of each scheduler."""
    gnomon_home = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))  # an editable install
    own = {os.path.realpath(p) for p in (sys.prefix, sys.base_prefix, sys.exec_prefix)}
    own.add(os.path.realpath(gnomon_home))
    found: list[str] = []
    for entry in sys.path:
        folder = os.path.realpath(entry or os.getcwd())
        inside = any(folder == p or folder.startswith(p + os.sep) for p in own)
        installed = "site-packages" in folder or "dist-packages" in folder
        if not inside and not installed and os.path.isdir(folder):
            found.append(folder)
    return tuple(dict.fromkeys(found))


def check_reference(ref: object) -> str:
    """Return ``ref`` if it is well-formed, else raise with what is wrong."""
    if not isinstance(ref, str) or not _REF.match(ref):
        raise InvalidAction(
            f"callable reference {ref!r} is malformed; write it as 'package.module:function'"
        )
    return ref


def _loaded(name: str) -> Any:
    """The module ``name`` if it is imported and done initialising; else None.

    A quick look before :func:`importlib.import_module` (whose own lookup costs ~10x more,
    once per run). A module another thread is still importing is in ``sys.modules`` without
    its attributes yet: that one is left to ``import_module``, which waits for the import.
    """
    module = sys.modules.get(name)
    if module is None or getattr(getattr(module, "__spec__", None), "_initializing", False):
        return None
    return module


def resolve(ref: str) -> Any:
    """Import the module and return the attribute named by ``ref``."""
    module_name, attr_path, parts = _parse(ref)
    if module_name == SCRIPT:
        return _script_function(attr_path)
    try:
        target: Any = _loaded(module_name) or importlib.import_module(module_name)
    except ImportError as exc:
        raise InvalidAction(f"callable {ref!r}: cannot import {module_name!r}: {exc}") from exc
    for part in parts:
        try:
            target = getattr(target, part)
        except AttributeError:
            raise InvalidAction(
                f"callable {ref!r}: module {module_name!r} has no attribute {attr_path!r}"
            ) from None
    return target


_PARSED_MAX = 4096  # references whose parts are remembered, at most (then it starts again)
_parsed: dict[str, tuple[str, str, tuple[str, ...]]] = {}


def _parse(ref: str) -> tuple[str, str, tuple[str, ...]]:
    """``ref``'s module name, attribute path and the path's parts; InvalidAction if it is
    malformed. Only the text is remembered (checking it costs a regex per run): the module
    and the attribute are looked up at every call, so a module reloaded, re-imported or
    changed meanwhile is seen as it is now."""
    try:
        return _parsed[ref]
    except (KeyError, TypeError):  # TypeError: not a string, check_reference says so
        pass
    module_name, _, attr_path = check_reference(ref).partition(":")
    parsed = (module_name, attr_path, tuple(attr_path.split(".")))
    if len(_parsed) >= _PARSED_MAX:
        _parsed.clear()
    _parsed[ref] = parsed
    return parsed


def _script_function(name: str) -> Any:
    """A function of this process's script, registered by :func:`reference_of`."""
    try:
        return _script_functions[name]
    except KeyError:
        raise InvalidAction(
            f"function {name} is defined in a script ({SCRIPT}) and is only available while "
            "that script runs the scheduler; run the script, or move the function to a module "
            "and schedule it as 'module:function'"
        ) from None


def reference_of(func: Callable[..., Any]) -> str:
    """The reference that imports ``func`` back; refuses lambdas and nested functions.

    A function of the running script (``__main__``) is registered in this process, so the
    scheduler this script runs finds it by name (see the module's doc)."""
    module = getattr(func, "__module__", None)
    qualname = getattr(func, "__qualname__", None)
    if not module or not qualname or "<" in qualname:
        raise InvalidAction(
            f"{func!r} cannot be referenced by import path; use a module-level function "
            "in an importable module"
        )
    if module == SCRIPT:
        _script_functions[qualname] = func
    return f"{module}:{qualname}"
