"""Prints the GPU bench table from the JSON lines of `gpu_bench` and `xgb_peer.py`, and the
errors between arrowshap's GPU values and XGBoost's (`--values` files of both).

`python3 report.py RESULTS_DIR` reads `<case>.arrowshap.json`, `<case>.xgboost.json`,
`<case>.arrowshap.f64`, `<case>.xgboost.f64` for each case found; writes `summary.json`.
"""
import json
import sys
from pathlib import Path

import numpy as np


def load(path: Path):
    if not path.exists():
        return None
    lines = [l for l in path.read_text().splitlines() if l.startswith("{")]
    return json.loads(lines[-1]) if lines else None


def main() -> None:
    d = Path(sys.argv[1])
    cases = sorted({p.name.split(".")[0] for p in d.glob("*.arrowshap.json")})
    rows = []
    print(f"{'case':<10} {'rows':>9} {'arrowshap GPU':>15} {'XGBoost GPU':>13} {'arrowshap CPU':>15} "
          f"{'GPU/XGB':>8} {'GPU/CPU':>8} {'err vs XGB':>11} {'err vs CPU':>11}")
    for c in cases:
        ours = load(d / f"{c}.arrowshap.json") or {}
        peer = load(d / f"{c}.xgboost.json") or {}
        if "error" in ours:
            print(f"{c:<10} arrowshap GPU failed: {ours['error']}")
            continue
        err_xgb = None
        fa, fx = d / f"{c}.arrowshap.f64", d / f"{c}.xgboost.f64"
        if fa.exists() and fx.exists():
            a, x = np.fromfile(fa, "<f8"), np.fromfile(fx, "<f8")
            n = min(a.size, x.size)
            err_xgb = float(np.max(np.abs(a[:n] - x[:n]) / np.maximum(1.0, np.abs(x[:n]))))
        g, cpu = ours.get("gpu_rows_per_s"), ours.get("cpu_rows_per_s")
        xr = peer.get("rows_per_s")
        row = {
            "case": c, "rows": ours.get("rows"), "arrowshap_gpu_rows_per_s": g,
            "xgboost_gpu_rows_per_s": xr, "arrowshap_cpu_rows_per_s": cpu,
            "gpu_over_xgboost": g / xr if g and xr else None,
            "gpu_over_cpu": g / cpu if g and cpu else None,
            "max_rel_err_vs_xgboost": err_xgb,
            "max_rel_err_vs_cpu": ours.get("gpu_vs_cpu_max_rel_err"),
            "arrowshap": ours, "xgboost": peer,
        }
        rows.append(row)
        fmt = lambda v, f: "n/a" if v is None else format(v, f)
        print(f"{c:<10} {ours.get('rows', 0):>9} {fmt(g, ',.0f'):>15} {fmt(xr, ',.0f'):>13} {fmt(cpu, ',.0f'):>15} "
              f"{fmt(row['gpu_over_xgboost'], '.2f'):>8} {fmt(row['gpu_over_cpu'], '.1f'):>8} "
              f"{fmt(err_xgb, '.1e'):>11} {fmt(row['max_rel_err_vs_cpu'], '.1e'):>11}")
    print("rows/s; errors: max |a-b| / max(1, |b|). XGBoost computes in f32, arrowshap in f64.")
    (d / "summary.json").write_text(json.dumps(rows, indent=1))


if __name__ == "__main__":
    main()
