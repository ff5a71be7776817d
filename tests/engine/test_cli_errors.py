"""CLI errors are one line: they never echo a file's contents and never print a traceback."""

from __future__ import annotations

from pathlib import Path

import pytest

from gnomon.cli import main

SECRET = "$6$rounds=5000$SECRETHASHVALUE"
SHADOW = f"alicebob:{SECRET}:19000:0:99999:7:::\ndaemon:*:19000:0:99999:7:::\n"


def gnomon(capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, str, str]:
    """Run the CLI in-process: (exit code, stdout, stderr)."""
    with pytest.raises(SystemExit) as exit_info:
        main(list(args))
    out, err = capsys.readouterr()
    return int(exit_info.value.code or 0), out, err


def one_line(err: str) -> str:
    lines = err.strip().splitlines()
    assert len(lines) == 1, err
    assert lines[0].startswith("error: "), err
    assert "Traceback" not in err
    return lines[0]


@pytest.mark.parametrize(
    ("name", "content", "words"),
    [
        pytest.param("shadow", SHADOW, "not a steps file", id="shadow-lines"),
        pytest.param(
            "shadow.yaml",
            f"alicebob: {SECRET}\nx: y: z\n",
            "not valid YAML (line 2",
            id="yaml-syntax-error",
        ),
        pytest.param(
            "keys.yaml", f"{SECRET}: 1\nalicebob: x\n", "not a steps file", id="yaml-keys"
        ),
        pytest.param("list.yaml", f"- {SECRET}\n", "not a steps file", id="yaml-list"),
        pytest.param(
            "secret.toml",
            f'alicebob = "{SECRET}\n',
            "not valid TOML (at line 1",
            id="toml-syntax-error",
        ),
        pytest.param("keys.toml", f'alicebob = "{SECRET}"\n', "not a steps file", id="toml-keys"),
        pytest.param(
            "bomb.yaml", "a: &a [x, x, x]\nsteps: [*a, *a]\n", "aliases", id="yaml-aliases"
        ),
        pytest.param(
            "big.yaml", "steps: []\n#" + "x" * 300_000, "larger than 262144 bytes", id="too-large"
        ),
    ],
)
def test_a_file_that_is_not_a_steps_file_is_not_echoed(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], name: str, content: str, words: str
) -> None:
    path = tmp_path / name
    path.write_text(content)
    code, out, err = gnomon(
        capsys,
        "--db",
        str(tmp_path / "cli.db"),
        "schedule",
        "sequence",
        "every 5m",
        "--file",
        str(path),
    )
    assert code == 2
    line = one_line(err)
    assert words in line
    assert SECRET not in out + err
    assert "alicebob" not in out + err


def test_a_binary_file_is_one_line(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    path = tmp_path / "bin.yaml"
    path.write_bytes(b"\x00\xff\xfe" + SECRET.encode())
    code, out, err = gnomon(
        capsys,
        "--db",
        str(tmp_path / "cli.db"),
        "schedule",
        "sequence",
        "every 5m",
        "--file",
        str(path),
    )
    assert code == 2
    assert one_line(err) == f"error: --file {path}: not UTF-8 text"
    assert SECRET not in out + err


@pytest.mark.parametrize(
    "command", [["list"], ["info", "x"], ["add", "every 5m", "--python", "gnomon.demo:hello"]]
)
def test_a_db_that_is_not_a_database_is_one_line(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], command: list[str]
) -> None:
    path = tmp_path / "passwd"
    path.write_text(SHADOW)
    code, out, err = gnomon(capsys, "--db", str(path), *command)
    assert code == 1
    assert one_line(err) == f"error: cannot use database sqlite:///{path}: file is not a database"
    assert SECRET not in out + err


def test_an_unexpected_error_is_one_line_without_its_message(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    def broken() -> None:
        raise RuntimeError(f"a bug holding {SECRET}")

    monkeypatch.setattr("gnomon.cli.jobs.open_scheduler", broken)
    code, out, err = gnomon(capsys, "--db", str(tmp_path / "cli.db"), "list")
    assert code == 1
    assert one_line(err) == "error: unexpected RuntimeError; run with -v to see the traceback"
    assert SECRET not in out + err
