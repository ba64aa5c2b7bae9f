"""The family registry: built-ins by name, third parties through an entry-point group.

Built-ins are listed as ``name -> "module:Class"`` and imported only when
used, so listing families imports no heavy dependency (torch included).
"""

from __future__ import annotations

import difflib
import importlib
from dataclasses import dataclass
from importlib.metadata import entry_points
from typing import Any

from simulacra.errors import MissingExtraError, SimulacraError, UnknownFamilyError
from simulacra.synthesizers.base import Synthesizer

__all__ = ["ENTRY_POINT_GROUP", "FamilyInfo", "create", "families", "family_class"]

ENTRY_POINT_GROUP = "simulacra.synthesizers"


@dataclass(frozen=True)
class FamilyInfo:
    name: str
    target: str  # "module:Class"
    description: str
    extra: str | None = None  # the pip extra the family needs, if any
    plugin: bool = False


BUILTINS = {
    info.name: info
    for info in (
        FamilyInfo(
            "independent",
            "simulacra.synthesizers.independent:IndependentSynthesizer",
            "Each column drawn on its own from its learned marginal (a baseline: no joint shape).",
        ),
        FamilyInfo(
            "bootstrap",
            "simulacra.synthesizers.bootstrap:BootstrapSynthesizer",
            "Resampled training rows with optional noise and category swaps (randomization).",
        ),
        FamilyInfo(
            "copula",
            "simulacra.synthesizers.copula:GaussianCopulaSynthesizer",
            "Gaussian copula: learned marginals joined by a learned correlation matrix.",
        ),
        FamilyInfo(
            "bayesnet",
            "simulacra.synthesizers.bayesnet:BayesianNetworkSynthesizer",
            "Bayesian network on binned columns: BIC hill-climbing, exact conditioning.",
        ),
        FamilyInfo(
            "cart",
            "simulacra.synthesizers.cart:CartSynthesizer",
            "Sequential decision trees, column by column, as synthpop does (smoothed leaf draws).",
        ),
        FamilyInfo(
            "autoregressive",
            "simulacra.synthesizers.neural.autoregressive:AutoregressiveSynthesizer",
            "Any-order autoregressive network, column by column; conditions on any subset.",
            extra="torch",
        ),
        FamilyInfo(
            "gan",
            "simulacra.synthesizers.neural.gan:GanSynthesizer",
            "Conditional tabular GAN (CTGAN's line): mode-normalised numbers, native conditions.",
            extra="torch",
        ),
        FamilyInfo(
            "vae",
            "simulacra.synthesizers.neural.vae:VaeSynthesizer",
            "Tabular variational autoencoder (TVAE's line): mode-normalised numbers.",
            extra="torch",
        ),
        FamilyInfo(
            "diffusion",
            "simulacra.synthesizers.neural.diffusion:DiffusionSynthesizer",
            "Denoising diffusion: Gaussian for numbers, masked for categories; inpaints.",
            extra="torch",
        ),
        FamilyInfo(
            "dp-bayesnet",
            "simulacra.synthesizers.dp_bayesnet:DPBayesNetSynthesizer",
            "PrivBayes: a Bayesian network learned and measured with differential privacy.",
            extra="dp",
        ),
        FamilyInfo(
            "dp-marginals",
            "simulacra.synthesizers.dp_marginals:DPMarginalsSynthesizer",
            "MST: noisy one- and two-way marginals on a private spanning tree (differential "
            "privacy).",
            extra="dp",
        ),
        FamilyInfo(
            "dp-vae",
            "simulacra.synthesizers.neural.dp_neural:DPVaeSynthesizer",
            "Tabular VAE trained with DP-SGD (Opacus): differential privacy.",
            extra="torch",
        ),
        FamilyInfo(
            "dp-autoregressive",
            "simulacra.synthesizers.neural.dp_neural:DPAutoregressiveSynthesizer",
            "Any-order autoregressive network trained with DP-SGD (Opacus): differential privacy.",
            extra="torch",
        ),
        FamilyInfo(
            "dp-diffusion",
            "simulacra.synthesizers.neural.dp_neural:DPDiffusionSynthesizer",
            "Denoising diffusion trained with DP-SGD (Opacus): differential privacy; inpaints.",
            extra="torch",
        ),
        FamilyInfo(
            "dp-gan",
            "simulacra.synthesizers.neural.dp_neural:DPGanSynthesizer",
            "Conditional tabular GAN with a DP-SGD critic (Opacus): differential privacy.",
            extra="torch",
        ),
        FamilyInfo(
            "dp-copula",
            "simulacra.synthesizers.dp_copula:DPCopulaSynthesizer",
            "Gaussian copula from noisy marginals and a noisy correlation (differential privacy).",
            extra="dp",
        ),
    )
}


def families() -> dict[str, FamilyInfo]:
    """Every family, built-in and plugin, by name (plugins are loaded to read their text)."""
    found = dict(BUILTINS)
    for ep in entry_points(group=ENTRY_POINT_GROUP):
        if ep.name in found:
            raise SimulacraError(
                f"plugin {ep.value!r} registers family {ep.name!r}, which "
                f"{found[ep.name].target!r} already has; uninstall one of them"
            )
        cls = _load_plugin(ep.name, ep.value, ep.load)
        found[ep.name] = FamilyInfo(ep.name, ep.value, cls.description, plugin=True)
    return found


def _load_plugin(name: str, target: str, load: Any) -> type[Synthesizer]:
    try:
        cls = load()
    except Exception as exc:
        raise SimulacraError(
            f"plugin family {name!r} ({target}) failed to load: {exc.__class__.__name__}: {exc}"
        ) from exc
    if not (isinstance(cls, type) and issubclass(cls, Synthesizer)):
        raise SimulacraError(f"plugin family {name!r} ({target}) is not a Synthesizer subclass")
    return cls


def family_class(name: str) -> type[Synthesizer]:
    """The class behind a family name; a clear error for an unknown name or missing extra."""
    info = BUILTINS.get(name)
    if info is None:
        for ep in entry_points(group=ENTRY_POINT_GROUP):
            if ep.name == name:
                return _load_plugin(name, ep.value, ep.load)
        names = sorted(families())
        close = difflib.get_close_matches(str(name), names, n=1)
        hint = f"did you mean {close[0]!r}? " if close else ""
        raise UnknownFamilyError(
            f"no synthesizer family {name!r}; {hint}known families: {', '.join(names)} "
            "(see `simulacra list`)"
        )
    module, _, attr = info.target.partition(":")
    try:
        return getattr(importlib.import_module(module), attr)
    except ImportError as exc:
        if info.extra is None:
            raise
        raise MissingExtraError(
            f"family {name!r} needs {exc.name or 'an optional package'}; "
            f"install it with: pip install 'simulacra[{info.extra}]'"
        ) from exc


def create(name: str, **params: Any) -> Synthesizer:
    """A new, unfitted synthesizer of family ``name``; parameter values are checked at once.

    >>> create("copula", seed=0)
    GaussianCopulaSynthesizer(seed=0, marginals='empirical', guard_copies=False)
    """
    model = family_class(name)(**params)
    model._checked_params()
    return model
