"""Every example in the README runs as written."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

import pytest

README = Path(__file__).resolve().parents[1] / "README.md"
BLOCKS = re.findall(r"```(bash|python)\n(.*?)```", README.read_text(), flags=re.S)
# Installing and running the tests are what CI itself does; everything else runs here.
SKIP = re.compile(r"^\s*python -m (pip install|pytest)")


def _runnable(block: str) -> str:
    lines = []
    for line in block.splitlines():
        steps = [s for s in line.split("&&") if s.strip() and not SKIP.match(s)]
        if steps:
            lines.append(" && ".join(s.strip() for s in steps))
    return "\n".join(lines)


def test_readme_has_quickstart_and_examples():
    text = README.read_text()
    assert "## Quickstart" in text
    # the same install and test command as .ci/run
    ci = (README.parent / ".ci" / "run").read_text()
    assert 'pip install --quiet -e ".[test,torch,dp]"' in ci
    assert 'python -m pip install -e ".[test,torch,dp]" && python -m pytest' in text
    assert any(kind == "python" for kind, _ in BLOCKS)


def test_readme_examples_run_in_order(tmp_path):
    bin_dir = str(Path(sys.executable).parent)
    for kind, block in BLOCKS:
        code = _runnable(block) if kind == "bash" else block
        if not code:
            continue
        if kind == "bash":
            cmd = ["bash", "-euo", "pipefail", "-c", f'export PATH="{bin_dir}:$PATH"\n{code}']
        else:
            cmd = [sys.executable, "-c", code]
        result = subprocess.run(cmd, cwd=tmp_path, capture_output=True, text=True)
        if result.returncode != 0:
            pytest.fail(f"README {kind} block failed:\n{code}\n---\n{result.stderr[-2000:]}")
