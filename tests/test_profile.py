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
