"""The fast start-up path trusts SCHEMA_HEAD: it must be Alembic's head revision."""

from __future__ import annotations

from alembic.config import Config
from alembic.script import ScriptDirectory

from gnomon.store.engine import MIGRATIONS, SCHEMA_HEAD


def test_schema_head_is_alembics_head() -> None:
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS))
    assert ScriptDirectory.from_config(config).get_current_head() == SCHEMA_HEAD
