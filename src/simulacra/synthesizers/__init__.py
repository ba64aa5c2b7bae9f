"""Synthesizer families behind one contract, and the registry that names them."""

from __future__ import annotations

from simulacra.synthesizers.base import Param, Synthesizer
from simulacra.synthesizers.registry import ENTRY_POINT_GROUP, create, families, family_class

__all__ = ["ENTRY_POINT_GROUP", "Param", "Synthesizer", "create", "families", "family_class"]
