#!/bin/bash
# One interleaved peer run: each workload of ../shared/bench runs on rtensor,
# JAX, PyTensor and NumPy back to back, so that every ratio compares figures
# taken within a minute of each other. Records go to OUT/<backend>.json;
# `python3 benches/peer_targets.py OUT` then checks issue 6's targets.
#
#   benches/interleaved_run.sh OUT [workload ...]
#
# Needs `make build` (.venv) and the peers' venv beside the checkout:
#   python3 -m venv ../peers && ../peers/bin/pip install pytensor==3.0.7 jax jaxlib numpy scipy
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
out=$(mkdir -p "$1" && cd "$1" && pwd)
shift
workloads=${*:-call_overhead logreg_givens mlp scan_rnn scan_overhead gibbs elemwise gemm lstm_merge}
cd "$root/../shared/bench"
for w in $workloads; do
  for b in rtensor jax pytensor numpy; do
    if [ "$b" = rtensor ]; then py=$root/.venv/bin/python; else py=$root/../peers/bin/python; fi
    update=""
    [ -f "$out/$b.json" ] && update=--update
    "$py" run.py --backend "$b" --only "$w" --json "$out/$b.json" $update > /dev/null 2>> "$out/stderr.log"
  done
done
