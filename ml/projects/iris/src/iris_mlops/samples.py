"""New flowers for demos, tests and benchmarks: Iris resampled with a little noise and measured to
the millimetre like the original, optionally shifted (measurements scaled, or one species
over-represented). Seeded, so figures repeat."""

from __future__ import annotations

from collections.abc import Mapping

import numpy as np
import pandas as pd

from iris_mlops.data import FEATURE_COLUMNS, KEY_COLUMN, LABEL_COLUMN, load_iris_frame

NOISE_CM = 0.05
DECIMALS = 1  # measured to the millimetre, as the Iris data is


def new_samples(
    rows: int,
    seed: int = 0,
    scale: Mapping[str, float] | None = None,
    species_weights: Mapping[str, float] | None = None,
    first_key: int = 0,
) -> pd.DataFrame:
    """`rows` unlabelled samples keyed from `first_key`; `scale` multiplies named features,
    `species_weights` (relative) picks source flowers unevenly."""
    rng = np.random.default_rng(seed)
    iris = load_iris_frame()
    weights = np.ones(len(iris))
    for species, weight in (species_weights or {}).items():
        weights[(iris[LABEL_COLUMN] == species).to_numpy()] = weight
    picked = iris.iloc[rng.choice(len(iris), size=rows, p=weights / weights.sum())].reset_index(drop=True)
    features = picked.loc[:, list(FEATURE_COLUMNS)] + rng.normal(0, NOISE_CM, (rows, len(FEATURE_COLUMNS)))
    for name, factor in (scale or {}).items():
        features[name] = features[name] * factor
    features = features.round(DECIMALS)
    features.insert(0, KEY_COLUMN, np.arange(first_key, first_key + rows, dtype="int64"))
    return features
