"""Trains the GPU bench's models with XGBoost (CPU, `hist`): 100 and 500 trees of depth 8
on 32 features, saved as UBJSON into the folder given (`benches/gpu/.carry/bin/models`).
Run by `prepare.sh` on a machine with the project's `.venv`.
"""
import sys
from pathlib import Path

import xgboost as xgb

from data import make


def main() -> None:
    out = Path(sys.argv[1])
    out.mkdir(parents=True, exist_ok=True)
    x, y = make(100_000, seed=1)
    d = xgb.DMatrix(x, label=y)
    for trees in (100, 500):
        path = out / f"xgb_{trees}x8.ubj"
        if path.exists():
            continue
        params = {"max_depth": 8, "eta": 0.05, "tree_method": "hist", "nthread": 2, "seed": 0}
        booster = xgb.train(params, d, num_boost_round=trees)
        booster.save_model(str(path))
        print(f"wrote {path} ({path.stat().st_size / 1e6:.1f} MB)", flush=True)


if __name__ == "__main__":
    main()
