"""The package stays light on import and every command has help (the curated API:
test_public_api.py)."""

from __future__ import annotations

import os
import subprocess
import sys

HEAVY = ("torch", "ray", "fastapi", "transformers", "lance", "uvicorn", "PIL", "matplotlib")


def test_import_plait_loads_no_heavy_dependency():
    code = f"import sys, plait; print(','.join(m for m in {HEAVY!r} if m in sys.modules))"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == ""


def test_every_command_has_help_with_an_example():
    from typer.testing import CliRunner

    from plait.cli import app

    runner = CliRunner()
    top = runner.invoke(app, ["--help"])
    assert top.exit_code == 0
    import typer.main

    group = typer.main.get_command(app)
    names = sorted(group.commands)
    assert {"init", "info", "ingest"} <= set(names)

    def walk(cmd, path):
        if hasattr(cmd, "commands"):
            for sub, c in cmd.commands.items():
                yield from walk(c, [*path, sub])
        else:
            yield path, cmd

    for path, cmd in walk(group, []):
        res = runner.invoke(app, [*path, "--help"])
        assert res.exit_code == 0, path
        assert "Example:" in (cmd.help or ""), f"`plait {' '.join(path)}` help lacks an example"


def test_usage_errors_exit_2_with_a_message_not_a_traceback():
    out = subprocess.run(
        [sys.executable, "-m", "plait", "no-such-command"], capture_output=True, text=True
    )
    assert out.returncode == 2
    assert "No such command" in out.stderr and "Traceback" not in out.stderr


def test_plait_errors_exit_with_their_code(tmp_path):
    out = subprocess.run(
        [sys.executable, "-m", "plait", "info", str(tmp_path / "missing")],
        capture_output=True,
        text=True,
    )
    assert out.returncode == 1
    assert "is not a plait corpus" in out.stderr and "Traceback" not in out.stderr


def test_ops_list_is_one_line_per_operator_at_80_columns():
    from plait.ops import OPS

    out = subprocess.run(
        [sys.executable, "-m", "plait", "ops", "list"],
        capture_output=True,
        text=True,
        env={**os.environ, "COLUMNS": "80"},
        check=True,
    )
    lines = out.stdout.splitlines()
    assert max(len(line) for line in lines) <= 80
    names = [line.split()[0] for line in lines[1:-1]]  # a header, one line each, a legend
    assert names == list(OPS.names())
