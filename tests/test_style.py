"""The tree passes the linter and is formatted (ruff, configured in pyproject.toml): CI runs this with the suite."""

import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
RUFF = Path(sys.executable).with_name('ruff')


@pytest.mark.parametrize('command', [['check', '--output-format', 'concise'], ['format', '--check']])
def test_ruff(command):
    done = subprocess.run([str(RUFF), *command, '.'], cwd=ROOT, capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stdout + done.stderr
