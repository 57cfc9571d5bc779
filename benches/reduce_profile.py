"""Per-node times of the MLP's reductions: `(W**2).sum()` of a 784x500 and
`g.sum(axis=0)` of a 20x500 float32 matrix, with profile=True.

    .venv/bin/python benches/reduce_profile.py [--calls N]
"""

import argparse
import time

import numpy as np

import rtensor as th
import rtensor.tensor as T


def profile(name, inputs, output, values, calls):
    f = th.function(inputs, output, profile=True)
    for _ in range(50):
        f(*values)
    best = float("inf")
    for _ in range(15):
        t0 = time.perf_counter()
        for _ in range(calls):
            f(*values)
        best = min(best, (time.perf_counter() - t0) / calls)
    p = f.profile
    n = p.fct_callcount
    print(f"{name}: {best * 1e6:.1f} us per call (wall, best of 15 batches)")
    for op, t in sorted(p.op_time.items(), key=lambda kv: -kv[1]):
        print(f"    {t / n * 1e6:8.1f} us  {op}  (mean)")


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--calls", type=int, default=200)
    args = ap.parse_args()
    rng = np.random.RandomState(0)
    W = T.fmatrix("W")
    g = T.fmatrix("g")
    w = rng.randn(784, 500).astype("float32")
    gv = rng.randn(20, 500).astype("float32")
    profile("(W**2).sum(), W 784x500 float32", [W], (W**2).sum(), [w], args.calls)
    profile("W.sum(), W 784x500 float32", [W], W.sum(), [w], args.calls)
    profile("g.sum(axis=0), g 20x500 float32", [g], g.sum(axis=0), [gv], args.calls)
    profile("W.sum(axis=1), W 784x500 float32", [W], W.sum(axis=1), [w], args.calls)
    profile("W.T.sum(axis=0), W 784x500 float32", [W], W.T.sum(axis=0), [w], args.calls)
    profile("W.max(axis=0), W 784x500 float32", [W], W.max(axis=0), [w], args.calls)


if __name__ == "__main__":
    main()
