"""The environment every test starts a suite tool in."""

import os
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def tool_env(**extra: str) -> dict:
    """One OpenMP thread (the tests share 2 cores), the checkout and `tests/` (the fault plugins) importable."""
    return {**os.environ, 'OMP_NUM_THREADS': '1', 'PYTHONPATH': f'{ROOT}{os.pathsep}{ROOT / "tests"}', **extra}
