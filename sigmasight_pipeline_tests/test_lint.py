"""The code base stays ruff-clean (pyproject's [tool.ruff] rules)."""

from __future__ import annotations

import shutil
import subprocess
import sys

from sigmasight_pipeline.warehouse.migrate import PROJECT_ROOT


def test_ruff_is_clean():
    ruff = shutil.which("ruff") or shutil.which("ruff", path=str(PROJECT_ROOT / ".venv/bin"))
    cmd = [ruff] if ruff else [sys.executable, "-m", "ruff"]
    result = subprocess.run([*cmd, "check", "."], cwd=PROJECT_ROOT, capture_output=True,
                            text=True, timeout=120)
    assert result.returncode == 0, result.stdout + result.stderr
