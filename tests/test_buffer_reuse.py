"""Buffer reuse (Op.perform_into, used by scan's loop and by functions run
with allow_gc=False): a node writes over the value it left in its slot only
when nobody else holds it, so arrays already returned never change."""
import numpy as np
import pytest

import rtensor as th

T = th.tensor


@pytest.mark.parametrize("n", [3, 2000])
@pytest.mark.parametrize("dtype", ["float64", "int32", "float32"])
def test_values_returned_earlier_keep_their_values_when_gc_is_off(rng, n, dtype):
    x = T.vector("x", dtype=dtype)
    y = T.vector("y", dtype=dtype)
    out = (x + y) * y - x
    with th.change_flags(allow_gc=False):
        f = th.function([x, y], [out, x + y])
        inputs = [(rng.randint(-9, 9, size=n).astype(dtype), rng.randint(-9, 9, size=n).astype(dtype))
                  for _ in range(4)]
        results = [f(a, b) for a, b in inputs]
    for (a, b), (o, s) in zip(inputs, results):
        np.testing.assert_array_equal(o, (a + b) * b - a)
        np.testing.assert_array_equal(s, a + b)


def test_a_scalar_operand_and_a_broadcast_operand_are_written_into_the_old_buffer(rng):
    m = T.dmatrix("m")
    r = T.drow("r")
    s = T.dscalar("s")
    with th.change_flags(allow_gc=False):
        f = th.function([m, r, s], [(m + r) * s, T.maximum(m, s) - T.minimum(m, r)])
        for _ in range(3):
            mv, rv, sv = rng.uniform(size=(4, 5)), rng.uniform(size=(1, 5)), rng.uniform()
            got = f(mv, rv, sv)
            np.testing.assert_allclose(got[0], (mv + rv) * sv)
            np.testing.assert_allclose(got[1], np.maximum(mv, sv) - np.minimum(mv, rv))


def test_borrowed_outputs_are_never_written_over(rng):
    x = T.dvector("x")
    with th.change_flags(allow_gc=False):
        f = th.function([x], th.Out(x * 2 + 1, borrow=True))
        first = f(np.ones(3))
        second = f(np.full(3, 5.0))
    np.testing.assert_array_equal(first, [3.0, 3.0, 3.0])
    np.testing.assert_array_equal(second, [11.0, 11.0, 11.0])


@pytest.mark.parametrize("borrow", [False, True])
def test_small_outputs_reused_between_calls_with_gc_on_never_change_earlier_results(borrow):
    # With allow_gc on, an output of at most 4 KB stays in its slot and the
    # next call writes over it: what an earlier call returned must not move.
    x = T.dvector("x")
    f = th.function([x], th.Out(x * 2 + 1, borrow=borrow))
    results = [f(np.full(5, float(k))) for k in range(4)]
    for k, r in enumerate(results):
        np.testing.assert_array_equal(r, np.full(5, 2.0 * k + 1))


def test_a_small_output_keeps_its_value_when_its_size_changes_between_calls():
    x = T.dvector("x")
    f = th.function([x], T.exp(x) * 2)
    a = f(np.zeros(3))
    b = f(np.zeros(7))
    c = f(np.ones(2))
    np.testing.assert_allclose(a, np.full(3, 2.0))
    np.testing.assert_allclose(b, np.full(7, 2.0))
    np.testing.assert_allclose(c, np.full(2, 2 * np.e))


@pytest.mark.parametrize("allow_gc", [True, False])
def test_an_update_computes_over_the_value_it_replaced_only_when_nobody_holds_it(allow_gc):
    # The buffer a small update replaced is kept for the next call's value
    # (double buffering); a value the user still holds is never written.
    with th.change_flags(allow_gc=allow_gc):
        c = th.shared(np.zeros(3), name="c")
        bump = th.function([], c * 1.0, updates=[(c, c + 1)])
        seen = []
        for k in range(5):
            out = bump()
            np.testing.assert_array_equal(out, np.full(3, float(k)))
            seen.append(c.get_value(borrow=True))
        for k, v in enumerate(seen):
            np.testing.assert_array_equal(v, np.full(3, k + 1.0))
        np.testing.assert_array_equal(c.get_value(), np.full(3, 5.0))


@pytest.mark.parametrize("dtype", ["float32", "float64"])
def test_float_functions_write_over_their_old_output_in_a_scan_loop_and_match_numpy(rng, dtype):
    # tanh, exp and sigmoid nodes of the inner function write each step over
    # the buffer they filled two steps before; every row keeps its own value.
    h0 = T.vector("h0", dtype=dtype)
    xs = T.matrix("xs", dtype=dtype)
    tenth = np.asarray(0.1, dtype=dtype)
    hs, _ = th.scan(lambda x_t, h: T.tanh(T.exp(x_t * tenth) * h) + T.nnet.sigmoid(h),
                    sequences=xs, outputs_info=h0)
    f = th.function([xs, h0], hs)
    xv = rng.uniform(-1, 1, size=(9, 6)).astype(dtype)
    hv = rng.uniform(-1, 1, size=6).astype(dtype)
    got = f(xv, hv)
    h, rows = hv.astype("float64"), []
    for x_t in xv.astype("float64"):
        h = np.tanh(np.exp(x_t * 0.1) * h) + 1 / (1 + np.exp(-h))
        rows.append(h)
    np.testing.assert_allclose(got, np.array(rows), rtol=1e-5 if dtype == "float32" else 1e-12)


def test_a_unary_float_function_writes_over_its_old_output_when_gc_is_off(rng):
    x = T.dvector("x")
    with th.change_flags(allow_gc=False):
        f = th.function([x], [T.tanh(x) * 2, T.exp(x)])
        inputs = [rng.uniform(-2, 2, size=300) for _ in range(3)]
        results = [f(v) for v in inputs]
    for v, (t, e) in zip(inputs, results):
        np.testing.assert_allclose(t, np.tanh(v) * 2, rtol=1e-12)
        np.testing.assert_allclose(e, np.exp(v), rtol=1e-12)
