"""The Rich console of every command: wrapped to the terminal, never wrapped in a pipe.

Rich folds output to 80 columns when stdout is not a terminal, which breaks a table's rows
over several lines in ``gnomon list | grep backup`` or in journald. In a pipe the console is
as wide as the output needs (``COLUMNS``, when set, still wins). This module imports Rich
only when a console is made, so ``gnomon next`` stays fast.
"""

from __future__ import annotations

import os
import sys
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from rich.console import Console

UNWRAPPED = 1_000_000  # columns of a console writing to a pipe or a file: no line is folded


def new_console() -> Console:
    """A console for stdout: the terminal's width, or unwrapped when stdout is not a terminal."""
    from rich.console import Console

    piped = not (sys.stdout.isatty() or os.environ.get("COLUMNS"))
    return Console(width=UNWRAPPED if piped else None, soft_wrap=piped)
