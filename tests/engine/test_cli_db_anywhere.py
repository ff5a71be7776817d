"""``gnomon COMMAND … --db DB`` uses DB, as ``gnomon --db DB COMMAND …`` does (issue 14)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tests.engine.test_cli_errors import gnomon


def test_db_after_the_command(
    capsys: pytest.CaptureFixture[str], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)  # the default database would be ./gnomon.db
    db = str(tmp_path / "x.db")
    code, _, err = gnomon(
        capsys, "add", "every 1h", "--id", "j", "--db", db, "--shell", "--", "true"
    )
    assert code == 0, err
    assert not (tmp_path / "gnomon.db").exists()
    code, out, err = gnomon(capsys, "list", "--json", "--db", db)
    assert code == 0, err
    assert [job["id"] for job in json.loads(out)] == ["j"]
