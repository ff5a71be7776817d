"""The layering is a test: the import-linter contracts in pyproject.toml (``[tool.importlinter]``).

triggers import only the domain; the store nothing above the domain; actions never the store or
the engine; the engine no face (docs/architecture.md, "Layers"). A new import that crosses a
layer fails here, naming the import chain.
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest
from importlinter.cli import lint_imports

ROOT = Path(__file__).resolve().parents[2]


def test_the_import_contracts_are_kept(capsys: pytest.CaptureFixture[str]) -> None:
    here = Path.cwd()
    os.chdir(ROOT)
    try:
        code = lint_imports(
            config_filename=str(ROOT / "pyproject.toml"), no_cache=True, no_logo=True
        )
    finally:
        os.chdir(here)
    report = capsys.readouterr().out
    assert code == 0, report
    assert "broken" in report
    assert "0 broken" in report
