"""Tables as feature matrices for scikit-learn models, with one encoding across tables."""

from __future__ import annotations

import numpy as np
import pandas as pd

from simulacra.evaluate.fidelity import as_labels, as_number
from simulacra.metadata import Metadata

MAX_LEVELS = 250  # category codes kept per column (the histogram GBM's limit); rarer share one


def model_matrix(
    frames: list[pd.DataFrame], metadata: Metadata, columns: list[str]
) -> tuple[list[pd.DataFrame], np.ndarray]:
    """Each frame's ``columns`` as floats (NaN = missing), and which of them are categories.

    Numbers and dates become numbers; category labels become codes shared by
    every frame, the ``MAX_LEVELS`` most common in the first frame kept.
    """
    out: list[dict[str, np.ndarray]] = [{} for _ in frames]
    categorical = []
    for name in columns:
        col = metadata.columns[name]
        if col.type in ("numerical", "datetime"):
            for data, frame in zip(out, frames, strict=True):
                data[name] = as_number(frame[name], col.format, col.type).to_numpy()
            categorical.append(False)
            continue
        labels = [as_labels(f[name]) for f in frames]
        keep = pd.Index(labels[0].value_counts().index[:MAX_LEVELS])
        for data, text in zip(out, labels, strict=True):
            codes = keep.get_indexer(text).astype(float)
            codes[(codes < 0) & text.notna().to_numpy()] = len(keep)
            codes[text.isna().to_numpy()] = np.nan
            data[name] = codes
        categorical.append(True)
    return [pd.DataFrame(d, columns=columns) for d in out], np.array(categorical, dtype=bool)
