"""scripts/screenshot_asset_graph.py: headless Chromium captures the Dagster asset graph."""

from __future__ import annotations

import os
import struct
import subprocess
import sys
from pathlib import Path

import pytest

from sigmasight_pipeline.warehouse.migrate import PROJECT_ROOT

CHROMIUM = Path(os.environ.get("CHROMIUM", "/usr/bin/chromium"))


@pytest.mark.skipif(not CHROMIUM.is_file(),
                    reason=f"{CHROMIUM} is not installed (apt-get install -y chromium); "
                           ".ci/run installs it when it can")
def test_screenshot_of_the_asset_graph_is_a_real_png(database_url, tmp_path):
    out = tmp_path / "asset_graph.png"
    env = {**os.environ, "SIGMASIGHT_DATABASE_URL": database_url,
           "SIGMASIGHT_HOME": str(tmp_path / ".sigmasight"), "CHROMIUM": str(CHROMIUM),
           "PYTHONPATH": str(PROJECT_ROOT)}
    env.pop("DAGSTER_HOME", None)
    script = PROJECT_ROOT / "scripts" / "screenshot_asset_graph.py"
    result = subprocess.run([sys.executable, str(script), "--out", str(out)], env=env,
                            cwd=tmp_path, capture_output=True, text=True, timeout=180)
    assert result.returncode == 0, result.stdout + result.stderr
    data = out.read_bytes()
    assert data[:8] == b"\x89PNG\r\n\x1a\n"
    width, height = struct.unpack(">II", data[16:24])  # the IHDR chunk
    assert (width, height) == (1600, 1000)
    # measured at 1600x1000: an error or empty-graph page ~48-65 KB, groups collapsed ~93 KB,
    # every asset drawn ~122 KB
    assert len(data) > 90_000, f"{len(data)} bytes: the page may not have rendered"
