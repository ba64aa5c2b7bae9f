"""Generative networks on one torch core: ``gan``, ``vae``, ``diffusion``, ``autoregressive``.

This package needs the ``torch`` extra (``pip install 'simulacra[torch]'``).
Importing it alone imports no torch: the registry imports a family's module
only when the family is asked for.

- ``_codec``: per-column encodings a network learns from (mode-specific
  normalisation, normal scores, quantile bins, capped category codes).
- ``_core``: the shared base (parameters, seeding, devices, the training loop
  with early stopping, ``max_time`` and a loss history, persistence of the
  weights as safetensors).
- ``_dpsgd``: DP-SGD through Opacus (the mixin, a codec from public bounds,
  the accountant); ``dp_neural``: the ``dp-vae``, ``dp-autoregressive``,
  ``dp-diffusion`` and ``dp-gan`` (DP-SGD on the critic only) families.
"""
