"""The ``gnomon`` command line.

- :mod:`gnomon.cli.command`: the console script's entry point. ``gnomon next`` runs there
  with :mod:`argparse` and :mod:`gnomon.cli.preview`, without importing Typer (a fast cold
  start for scripts); every other command goes to the Typer app.
- :mod:`gnomon.cli.typer_app`: the Typer ``app``, its global options and error handling
  (``main``).
- one module per command group (``jobs``, ``schedule``, ``up``, ``worker_cmd``, …).

This package's ``__init__`` imports nothing, so the fast path stays fast; ``gnomon.cli.app``
and ``gnomon.cli.main`` (from ``typer_app``) are loaded on first use.
"""

from __future__ import annotations

import importlib
from typing import Any


def __getattr__(name: str) -> Any:
    if name in ("app", "main"):
        return getattr(importlib.import_module("gnomon.cli.typer_app"), name)
    raise AttributeError(f"module 'gnomon.cli' has no attribute {name!r}")
