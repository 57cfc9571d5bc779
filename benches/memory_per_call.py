"""Bytes allocated per call of an MLP training step, with allow_gc on and off.

    .venv/bin/python benches/memory_per_call.py

Reports, from `profile=True`, the bytes of the buffers each call produces,
the bytes it had to take from the system allocator (the rest came from the
pool) and the peak bytes alive above the call's start.
"""

import numpy as np

import rtensor as th
import rtensor.tensor as T


def mlp_step(allow_gc, batch=20, n_in=784, n_hidden=500, n_out=10):
    rng = np.random.RandomState(0)
    x = T.matrix("x")
    y = T.ivector("y")
    W1 = th.shared(rng.uniform(-0.05, 0.05, (n_in, n_hidden)).astype(th.config.floatX))
    b1 = th.shared(np.zeros(n_hidden, dtype=th.config.floatX))
    W2 = th.shared(np.zeros((n_hidden, n_out), dtype=th.config.floatX))
    b2 = th.shared(np.zeros(n_out, dtype=th.config.floatX))
    h = T.tanh(T.dot(x, W1) + b1)
    p = T.nnet.softmax(T.dot(h, W2) + b2)
    cost = -T.mean(T.log(p)[T.arange(y.shape[0]), y]) + 1e-4 * ((W1 ** 2).sum() + (W2 ** 2).sum())
    params = [W1, b1, W2, b2]
    grads = T.grad(cost, params)
    with th.change_flags(allow_gc=allow_gc):
        f = th.function([x, y], cost, updates=[(q, q - 0.01 * g) for q, g in zip(params, grads)], profile=True)
    xs = rng.rand(batch, n_in).astype(th.config.floatX)
    ys = rng.randint(0, n_out, batch).astype("int32")
    with th.change_flags(allow_gc=allow_gc):
        for _ in range(20):
            f(xs, ys)
    return f.profile


def main():
    print("MLP 784-500-10, minibatch 20, floatX=%s, after 20 calls" % th.config.floatX)
    print("%-14s %18s %22s %14s" % ("allow_gc", "bytes produced", "bytes from the system", "peak bytes"))
    for allow_gc in (True, False):
        p = mlp_step(allow_gc)
        print("%-14s %18d %22d %14d" % (allow_gc, p.bytes_per_call, p.fresh_bytes_per_call, p.peak_bytes))


if __name__ == "__main__":
    main()
