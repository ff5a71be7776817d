"""Settings read ``./.env`` (issue 14): the process environment wins over the file, the file
over the defaults; only its ``GNOMON_*`` lines count; an explicit mapping is used alone."""

from __future__ import annotations

from pathlib import Path

import pytest

from gnomon.errors import ConfigError
from gnomon.settings import Settings, environment


@pytest.fixture
def here(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv("GNOMON_WORKERS", raising=False)
    monkeypatch.delenv("GNOMON_DATABASE_URL", raising=False)
    return tmp_path


def test_dotenv_in_the_current_directory_is_read(here: Path) -> None:
    (here / ".env").write_text(
        "# gnomon\nGNOMON_WORKERS=3\nexport GNOMON_DATABASE_URL='from-dotenv.db'\nOTHER=x\n"
    )
    settings = Settings.from_env()
    assert (settings.workers, settings.database_url) == (3, "from-dotenv.db")
    assert environment().get("OTHER") != "x"  # not a gnomon setting: left to other readers


def test_the_process_environment_wins_over_dotenv(
    here: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    (here / ".env").write_text("GNOMON_WORKERS=3\n")
    monkeypatch.setenv("GNOMON_WORKERS", "5")
    assert Settings.from_env().workers == 5


def test_without_dotenv_the_defaults_hold_and_an_explicit_mapping_is_used_alone(
    here: Path,
) -> None:
    assert Settings.from_env().workers == 8
    (here / ".env").write_text("GNOMON_WORKERS=3\n")
    assert Settings.from_env({}).workers == 8


def test_a_bad_value_in_dotenv_is_the_usual_clear_error(here: Path) -> None:
    (here / ".env").write_text("GNOMON_WORKERS=lots\n")
    with pytest.raises(ConfigError, match="GNOMON_WORKERS"):
        Settings.from_env()
