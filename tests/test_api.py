"""The public surface: exports, lazy heavy imports, the plugin registry."""

from __future__ import annotations

import subprocess
import sys
import textwrap

import pandas as pd
import pytest

import simulacra
from simulacra.errors import SimulacraError
from simulacra.synthesizers import registry


def test_all_is_curated_and_importable():
    for name in simulacra.__all__:
        assert hasattr(simulacra, name), name
    assert {"create", "load", "Metadata", "families", "read_table"} <= set(simulacra.__all__)


@pytest.mark.parametrize(
    "code",
    [
        "import simulacra",
        "import simulacra; simulacra.families()",
        "import simulacra.cli",
    ],
)
def test_core_does_not_import_torch(code):
    # nor scikit-learn or scipy.stats: they took 2 of the CLI's 4 s start-up; the
    # evaluation and the spec's distributions import them when first used
    probe = f"{code}\nimport sys\nheavy = {{'torch', 'sklearn', 'scipy.stats'}} & set(sys.modules)"
    probe += "\nassert not heavy, f'{heavy} imported'"
    subprocess.run([sys.executable, "-c", probe], check=True)


def test_help_does_not_import_torch():
    probe = textwrap.dedent(
        """
        import sys
        from simulacra.cli import app
        try:
            app(["--help"])
        except SystemExit:
            pass
        assert "torch" not in sys.modules
        """
    )
    out = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, check=True)
    assert "fit" in out.stdout and "sample" in out.stdout


def _install_plugin(tmp_path, monkeypatch, name: str, target: str, module_code: str) -> None:
    """A real installed distribution on sys.path that declares one entry point."""
    (tmp_path / "myplugin.py").write_text(textwrap.dedent(module_code))
    dist = tmp_path / "myplugin-0.1.dist-info"
    dist.mkdir()
    (dist / "METADATA").write_text("Metadata-Version: 2.1\nName: myplugin\nVersion: 0.1\n")
    (dist / "entry_points.txt").write_text(f"[simulacra.synthesizers]\n{name} = {target}\n")
    monkeypatch.syspath_prepend(str(tmp_path))


PLUGIN = """
import pandas as pd
from simulacra.synthesizers.base import Synthesizer


class Constant(Synthesizer):
    '''Repeats the first encoded row: a test plugin.'''

    name = "constant"
    description = "Repeats one row (test plugin)."

    def _fit(self, encoded, rng):
        self.row_ = encoded.data.iloc[:1].to_numpy()

    def _sample(self, n, rng):
        return pd.DataFrame(self.row_.repeat(n, axis=0), columns=[c.name for c in self.columns_])
"""


def test_plugin_family_registers_through_entry_point(tmp_path, monkeypatch):
    _install_plugin(tmp_path, monkeypatch, "constant", "myplugin:Constant", PLUGIN)
    assert "constant" in simulacra.families()
    df = pd.DataFrame({"x": [1.0, 2.0, 3.0, 4.0, 5.0]})
    out = simulacra.create("constant").fit(df).sample(3)
    assert out["x"].tolist() == [1.0, 1.0, 1.0]


def test_plugin_with_a_builtin_name_is_an_error(tmp_path, monkeypatch):
    _install_plugin(tmp_path, monkeypatch, "copula", "myplugin:Constant", PLUGIN)
    with pytest.raises(SimulacraError, match="already has"):
        registry.families()


def test_broken_plugin_is_an_error_not_dropped(tmp_path, monkeypatch):
    _install_plugin(tmp_path, monkeypatch, "broken", "myplugin:Missing", PLUGIN)
    with pytest.raises(SimulacraError, match=r"'broken'.*failed to load"):
        registry.families()
