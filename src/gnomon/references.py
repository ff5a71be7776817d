"""``"package.module:attribute"`` references to callables.

Only references cross process boundaries and the store, never pickled functions.
"""

from __future__ import annotations

import importlib
import re
import sys
from collections.abc import Callable
from typing import Any

from gnomon.errors import InvalidAction

_REF = re.compile(r"^[A-Za-z_][\w]*(\.[A-Za-z_][\w]*)*:[A-Za-z_][\w]*(\.[A-Za-z_][\w]*)*$")


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
    module_name, _, attr_path = check_reference(ref).partition(":")
    try:
        target: Any = _loaded(module_name) or importlib.import_module(module_name)
    except ImportError as exc:
        raise InvalidAction(f"callable {ref!r}: cannot import {module_name!r}: {exc}") from exc
    for part in attr_path.split("."):
        try:
            target = getattr(target, part)
        except AttributeError:
            raise InvalidAction(
                f"callable {ref!r}: module {module_name!r} has no attribute {attr_path!r}"
            ) from None
    return target


def reference_of(func: Callable[..., Any]) -> str:
    """The reference that imports ``func`` back; refuses lambdas and nested functions."""
    module = getattr(func, "__module__", None)
    qualname = getattr(func, "__qualname__", None)
    if not module or not qualname or "<" in qualname or module == "__main__":
        raise InvalidAction(
            f"{func!r} cannot be referenced by import path; use a module-level function "
            "in an importable module"
        )
    return f"{module}:{qualname}"
