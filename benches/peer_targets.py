"""Issue 6's targets, checked on interleaved peer runs.

    python3 benches/peer_targets.py OUT [OUT ...]

Each OUT holds one run's records (rtensor.json, pytensor.json, jax.json,
numpy.json; see benches/interleaved_run.sh). Prints one markdown row per
run, in the columns of docs/performance.md, ending with the targets missed:
- every figure at least as good as PyTensor's (ratios of figures aside);
- logreg, mlp, scan_rnn, gibbs, elemwise and lstm_merge figures at least as
  good as JAX's;
- call_overhead's two figures below NumPy's;
- gemm at least 0.9 of NumPy's GFLOP/s in its own process;
- the four-product LSTM step within 10% of the hand-merged one;
- the MLP's compile_s at most 1/50 of PyTensor's.
"""
import json
import os
import sys
import time

DERIVED = {"fraction_of_numpy", "merge_speedup", "fraction_of_copy", "numpy_GFLOPs",
           "numpy_copy_GBps"}
AHEAD_OF_JAX = {"logreg_givens", "mlp", "scan_rnn", "gibbs", "elemwise", "lstm_merge"}


def load(out, backend):
    with open(os.path.join(out, backend + ".json")) as f:
        return json.load(f)["workloads"]


def at_least_as_good(metric, value, other):
    return value <= other if metric["better"] == "lower" else value >= other


def misses(rt, pt, jx, np_):
    missed = []
    for w, rec in rt.items():
        for name, m in rec["metrics"].items():
            if name in DERIVED:
                continue
            for peer, label in ((pt, "PyTensor"), (jx, "JAX")):
                if label == "JAX" and (w not in AHEAD_OF_JAX or name == "compile_s"):
                    continue
                other = peer.get(w, {}).get("metrics", {}).get(name)
                if other and not at_least_as_good(m, m["value"], other["value"]):
                    missed.append(f"{w} {name} vs {label}")
    value = lambda recs, w, m: recs[w]["metrics"][m]["value"]  # noqa: E731
    if "call_overhead" in rt:
        for name in ("update_us", "vector_fn_us"):
            if value(rt, "call_overhead", name) >= value(np_, "call_overhead", name):
                missed.append(f"{name} vs NumPy")
    if "gemm" in rt and value(rt, "gemm", "fraction_of_numpy") < 0.9:
        missed.append("gemm < 0.9 of NumPy")
    if "lstm_merge" in rt and (value(rt, "lstm_merge", "separate_ms")
                               > 1.1 * value(rt, "lstm_merge", "merged_ms")):
        missed.append("four-product > 1.1x merged")
    if "mlp" in rt and value(pt, "mlp", "compile_s") < 50 * value(rt, "mlp", "compile_s"):
        missed.append("mlp compile_s")
    return missed


def row(number, out):
    rt, pt, jx, np_ = (load(out, b) for b in ("rtensor", "pytensor", "jax", "numpy"))
    value = lambda recs, w, m: recs[w]["metrics"][m]["value"]  # noqa: E731
    jax_over = lambda w, m: value(jx, w, m) / value(rt, w, m)  # noqa: E731
    ended = time.strftime("%H:%M", time.gmtime(os.path.getmtime(os.path.join(out, "numpy.json"))))
    cells = [
        f"{number} ({ended})",
        f"{jax_over('logreg_givens', 'epoch_ms'):.2f}",
        f"{jax_over('mlp', 'epoch_ms'):.2f}",
        f"{jax_over('scan_rnn', 'forward_ms'):.2f} / {jax_over('scan_rnn', 'forward_grad_ms'):.2f}",
        f"{jax_over('gibbs', 'chain_ms'):.2f}",
        f"{value(rt, 'elemwise', 'GBps') / value(jx, 'elemwise', 'GBps'):.2f}",
        f"{jax_over('lstm_merge', 'separate_ms'):.2f} / {jax_over('lstm_merge', 'merged_ms'):.2f}",
        f"{value(rt, 'call_overhead', 'update_us'):.2f} / {value(rt, 'call_overhead', 'vector_fn_us'):.2f}"
        f" ({value(np_, 'call_overhead', 'update_us'):.2f} / {value(np_, 'call_overhead', 'vector_fn_us'):.2f})",
        f"{value(rt, 'gemm', 'fraction_of_numpy'):.2f}"
        f" ({value(rt, 'gemm', 'GFLOPs') / value(pt, 'gemm', 'GFLOPs'):.2f})",
        f"{value(rt, 'lstm_merge', 'separate_ms') / value(rt, 'lstm_merge', 'merged_ms'):.2f}",
        f"1/{value(pt, 'mlp', 'compile_s') / value(rt, 'mlp', 'compile_s'):.0f}",
        ", ".join(misses(rt, pt, jx, np_)) or "**none**",
    ]
    return "| " + " | ".join(cells) + " |"


if __name__ == "__main__":
    print("| run (ended) | logreg | mlp | scan_rnn fwd / grad | gibbs | elemwise | LSTM sep / merged"
          " | update / vector µs (NumPy) | gemm of NumPy (PyTensor GF/s ratio) | sep / merged"
          " | mlp compile_s | misses |")
    print("|" + "---|" * 12)
    for number, out in enumerate(sys.argv[1:], 1):
        print(row(number, out))
