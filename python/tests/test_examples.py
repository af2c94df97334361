"""The examples run as a user would run them, and their numbers mean what they say."""

import re
import subprocess
import sys

from conftest import ROOT


def test_own_operator_example_beats_its_baseline(tmp_path):
    out = tmp_path / "figure.png"
    result = subprocess.run(
        [sys.executable, ROOT / "examples" / "python_own_operator.py", "--n", "4", "--steps",
         "20", "--out", out], capture_output=True, text=True, cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    table = dict(re.findall(r"^(measurement|tikhonov|ws prior)\s+([0-9.]+)$", result.stdout,
                            re.MULTILINE))
    assert set(table) == {"measurement", "tikhonov", "ws prior"}, result.stdout
    assert float(table["ws prior"]) > float(table["tikhonov"]) > float(table["measurement"])
    assert out.stat().st_size > 10_000
