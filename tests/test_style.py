"""The code's own checks, run by the suite: ruff's lint rules and mypy on the whole package (both
configured in pyproject.toml). The import contracts are in test_boundary.py."""

import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def tool(name: str, *args: str) -> subprocess.CompletedProcess:
    return subprocess.run([str(Path(sys.executable).with_name(name)), *args], cwd=ROOT,
                          capture_output=True, text=True, timeout=600)


def test_ruff_finds_nothing():
    result = tool("ruff", "check", "--no-cache", "workbench", "tests", "bench")
    assert result.returncode == 0, result.stdout[-3000:]


def test_mypy_finds_no_type_error_in_the_package():
    result = tool("mypy", "--cache-dir", "/dev/null")
    assert result.returncode == 0, result.stdout[-3000:]
    assert "Success" in result.stdout
