"""Synthetic regression data of the GPU bench (numpy only, so it also runs on GPU machines
without XGBoost): 32 features, about 2% missing, a target with interactions.

`python3 data.py --rows N --out FILE` writes N rows as little-endian f64, column-major (all
rows of feature 0, then feature 1, ...), the layout `gpu_bench` and `xgb_peer.py` read.
"""
import argparse

import numpy as np

FEATURES = 32


def make(rows: int, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """`rows` samples (row-major float64, NaN = missing) and their targets."""
    rng = np.random.default_rng(seed)
    x = rng.normal(size=(rows, FEATURES))
    x[:, 8:16] = np.exp(x[:, 8:16] * 0.5)  # skewed features
    x[:, 16:20] = np.floor(rng.uniform(0, 10, size=(rows, 4)))  # small integers
    y = (
        np.sin(x[:, 0]) * x[:, 1]
        + 0.5 * x[:, 2] * (x[:, 3] > 0)
        + np.log1p(x[:, 8]) * x[:, 16] / 10
        + 0.1 * x[:, 4:8].sum(axis=1)
        + rng.normal(scale=0.1, size=rows)
    )
    x[rng.uniform(size=x.shape) < 0.02] = np.nan
    return x, y


def main() -> None:
    p = argparse.ArgumentParser()
    p.add_argument("--rows", type=int, required=True)
    p.add_argument("--out", required=True)
    p.add_argument("--seed", type=int, default=2)
    a = p.parse_args()
    x, _ = make(a.rows, a.seed)
    np.asfortranarray(x).T.astype("<f8").tofile(a.out)


if __name__ == "__main__":
    main()
