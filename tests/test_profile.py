"""profile=True: time per op and node, and what each call allocates."""

import io

import numpy as np

import rtensor as th
import rtensor.tensor as T


def make_profiled(allow_gc):
    x = T.dmatrix("x")
    W = th.shared(np.random.RandomState(0).randn(200, 200))
    h = T.tanh(T.dot(x, W))
    out = (h * 2 + 1).sum()
    with th.change_flags(allow_gc=allow_gc):
        f = th.function([x], out, profile=True)
    return f


def test_a_function_without_profile_has_none():
    x = T.dvector("x")
    assert th.function([x], x + 1).profile is None


def test_the_profile_counts_calls_and_times_each_node():
    f = make_profiled(True)
    v = np.ones((50, 200))
    for _ in range(3):
        f(v)
    p = f.profile
    assert p.fct_callcount == 3
    assert p.fct_call_time > 0
    assert any(name.startswith("Dot22") for name in p.op_time)
    assert all(t >= 0 for t in p.apply_time.values())
    text = io.StringIO()
    p.summary(file=text)
    assert "Memory Profile" in text.getvalue() and "Dot22" in text.getvalue()


def test_the_profile_reports_the_bytes_a_call_produces():
    f = make_profiled(True)
    v = np.ones((50, 200))
    f(v)
    # dot produces a 50x200 float64 result; tanh, mul, add and the sum run
    # as one fused reduction that makes no 50x200 intermediate.
    assert f.profile.bytes_per_call >= 50 * 200 * 8
    assert f.profile.peak_bytes > 0


def test_repeated_calls_take_their_large_buffers_from_the_pool():
    for allow_gc in (True, False):
        f = make_profiled(allow_gc)
        v = np.ones((50, 200))
        for _ in range(3):
            f(v)
        assert f.profile.fresh_bytes_per_call < f.profile.bytes_per_call / 4, allow_gc


def test_a_profiled_call_writes_its_update_in_place_as_an_unprofiled_one_does():
    from rtensor import _core

    rng = np.random.RandomState(1)
    W = th.shared(rng.randn(30, 20), name="W")
    x, y = T.dmatrix("x"), T.dmatrix("y")
    f = th.function([x, y], [], updates=[(W, W - 0.1 * T.dot(x.T, y))], profile=True)
    a, b = rng.randn(5, 30), rng.randn(5, 20)
    want = W.get_value() - 0.1 * a.T @ b
    before = _core.inplace_counts()
    f(a, b)
    after = _core.inplace_counts()
    assert after[0] - before[0] >= 1
    assert after[1] == before[1]
    np.testing.assert_allclose(W.get_value(), want, rtol=1e-12)
    assert any(op.startswith("Gemm{inplace}") for op in f.profile.op_time)


def test_a_profiled_call_reuses_the_merged_weights_of_the_last_call():
    # dot(x, W_i) for four shared W_i become slices of dot(x, Join(W_i)); the
    # Join of unchanged shared values is kept between calls, and the
    # profiler must time that, not a fresh concatenation each call.
    rng = np.random.RandomState(2)
    Ws = [th.shared(rng.randn(64, 64), name=f"W{i}") for i in range(4)]
    x = T.dmatrix("x")
    f = th.function([x], [T.tanh(T.dot(x, W)) for W in Ws], profile=True)
    v = rng.randn(3, 64)
    f(v)
    outs = f(v)
    for out, W in zip(outs, Ws):
        np.testing.assert_allclose(out, np.tanh(v @ W.get_value()), rtol=1e-12)
    joined_bytes = 64 * 256 * 8
    assert "Join" in f.profile.op_time
    assert f.profile.bytes_per_call < joined_bytes
