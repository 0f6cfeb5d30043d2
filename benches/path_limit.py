"""Work per row of the path-dependent fast path (native/core/src/shap/linear.rs) for an
XGBoost JSON model: the floating-point operations of its sweep and the bytes of the
per-tree plan it streams, counted from the trees (edges, leaves, quadrature points).
The physical-limit estimate in benches/README.md divides these by the machine's peak.

Usage: python benches/path_limit.py MODEL.json
"""

import json
import math
import sys


def tree_work(t: dict) -> dict:
    left, right, feat = t["left_children"], t["right_children"], t["split_indices"]
    # quadrature points n = ceil(D / 2), D = most distinct features on one path
    most, stack = 0, [(0, frozenset())]
    while stack:
        i, fs = stack.pop()
        if left[i] == -1:
            most = max(most, len(fs))
            continue
        stack += [(left[i], fs | {feat[i]}), (right[i], fs | {feat[i]})]
    n = max(1, math.ceil(most / 2))
    nodes = len(left)
    leaves = sum(1 for c in left if c == -1)
    edges = nodes - 1
    inner_edges = edges - leaves
    # per edge: 3 for its on/off state, 1 for the phi update; per quadrature point an
    # internal edge opens (4: r = on*r_on + offon*r_off, a = a*r) and closes (6), a leaf
    # edge does both at once (10); plus one comparison per internal node
    flops = edges * 4 + inner_edges * n * 10 + leaves * n * 10 + (nodes - leaves)
    # plan bytes read per lane group: the edge record (32 B) and its 4n coefficients
    plan_bytes = edges * (32 + 4 * n * 8)
    return {"nodes": nodes, "leaves": leaves, "n": n, "flops": flops, "plan_bytes": plan_bytes}


def main():
    model = json.load(open(sys.argv[1]))
    trees = model["learner"]["gradient_booster"]["model"]["trees"]
    works = [tree_work(t) for t in trees]
    out = {
        "trees": len(trees),
        "nodes": sum(w["nodes"] for w in works),
        "leaves": sum(w["leaves"] for w in works),
        "quadrature_points_max": max(w["n"] for w in works),
        "flops_per_row": sum(w["flops"] for w in works),
        "plan_bytes": sum(w["plan_bytes"] for w in works),
    }
    print(json.dumps(out))


if __name__ == "__main__":
    main()
