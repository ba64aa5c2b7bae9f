"""The SDV side of a benchmark, run in the peer environment by bench_foundation.py.

Usage: python sdv_side.py TABLE.parquet ROWS REPEAT  -> JSON timings on stdout.
"""

from __future__ import annotations

import json
import resource
import sys
import time
import warnings

import pandas as pd


def main() -> None:
    path, rows, repeat = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
    df = pd.read_parquet(path)
    warnings.simplefilter("ignore")
    import sdv
    from sdv.metadata import Metadata
    from sdv.single_table import GaussianCopulaSynthesizer

    meta = Metadata.detect_from_dataframes({"table": df})
    # SDV types some category columns (region, city...) as PII and fakes them, which is slow
    # and not what these columns are: model them as categories, as simulacra does.
    for name, spec in meta.to_dict()["tables"]["table"]["columns"].items():
        if spec["sdtype"] not in ("numerical", "categorical", "datetime", "boolean", "id"):
            meta.update_column(name, table_name="table", sdtype="categorical")
    synth = GaussianCopulaSynthesizer(meta)  # SDV 2.x takes and returns dicts of tables
    start = time.perf_counter()
    synth.fit({"table": df})
    fit_s = time.perf_counter() - start
    times = []
    for _ in range(repeat):
        start = time.perf_counter()
        synth.sample(num_rows=rows)
        times.append(time.perf_counter() - start)
    rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(
        json.dumps(
            {
                "version": sdv.__version__,
                "fit_s": fit_s,
                "sample_s": min(times),
                "rows_per_s": rows / min(times),
                "peak_rss_mb": rss,
            }
        )
    )


if __name__ == "__main__":
    main()
