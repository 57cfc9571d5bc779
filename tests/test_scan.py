"""`th.scan` (SPEC §4): loops compared with NumPy loops — recurrences with
taps, maps, sequences with several taps, while loops, backwards loops,
shared-variable updates and default updates carried through the loop,
nested scans, and the rewrites that must not change any result."""
import numpy as np
import pytest

import rtensor as th

T = th.tensor


def _close(out, expected):
    out, expected = np.asarray(out), np.asarray(expected)
    assert out.shape == expected.shape
    if out.dtype.kind == "f":
        tol = 1e-5 if out.dtype.itemsize == 4 else 1e-10
        np.testing.assert_allclose(out, expected, rtol=tol, atol=tol)
    else:
        np.testing.assert_array_equal(out, expected)


# ---------------------------------------------------------------------------
# recurrences
# ---------------------------------------------------------------------------

@pytest.mark.parametrize("dtype", ["int64", "float64", "int32"])
@pytest.mark.parametrize("n", [0, 1, 2, 10])
def test_fibonacci_with_taps_minus_two_and_minus_one_matches_a_numpy_loop(dtype, n):
    f0 = T.vector("f0", dtype=dtype)
    fib, updates = th.scan(lambda a, b: a + b, outputs_info=dict(initial=f0, taps=[-2, -1]), n_steps=n)
    assert not updates
    f = th.function([f0], fib)
    init = np.array([2, 3], dtype=dtype)
    seq = list(init)
    for _ in range(n):
        seq.append(seq[-2] + seq[-1])
    out = f(init)
    assert out.dtype == np.dtype(dtype)
    _close(out, np.array(seq[2:], dtype=dtype).reshape(n))


def test_an_initial_state_with_extra_rows_uses_only_the_first_rows_the_taps_need():
    f0 = T.dvector("f0")
    fib, _ = th.scan(lambda a, b: a + 2 * b, outputs_info=dict(initial=f0, taps=[-2, -1]), n_steps=4)
    init = np.array([1.0, 2.0, 100.0, 200.0])
    seq = [1.0, 2.0]
    for _ in range(4):
        seq.append(seq[-2] + 2 * seq[-1])
    _close(th.function([f0], fib)(init), seq[2:])


@pytest.mark.parametrize("dtype", ["float64", "float32", "int64"])
@pytest.mark.parametrize("shape", [(7,), (5, 3), (4, 2, 3), (0, 3), (1,)])
def test_cumulative_sum_over_the_rows_of_a_sequence_matches_numpy_cumsum(rng, dtype, shape):
    x = T.TensorType(dtype, (False,) * len(shape))("x")
    acc0 = T.TensorType(dtype, (False,) * (len(shape) - 1))("acc0")
    sums, _ = th.scan(lambda row, acc: acc + row, sequences=x, outputs_info=acc0)
    f = th.function([x, acc0], sums)
    xv = (rng.uniform(-3, 3, size=shape) * 4).astype(dtype)
    a0 = (rng.uniform(-3, 3, size=shape[1:]) * 4).astype(dtype)
    out = f(xv, a0)
    assert out.dtype == np.dtype(dtype)
    _close(out, np.cumsum(xv, axis=0) + a0 if shape[0] else np.zeros(shape, dtype))


def test_the_scan_output_leaves_out_the_initial_state_and_row_t_is_step_t():
    x0 = T.dscalar("x0")
    powers, _ = th.scan(lambda p: p * 3, outputs_info=x0, n_steps=4)
    _close(th.function([x0], powers)(2.0), [6.0, 18.0, 54.0, 162.0])


def test_polynomial_evaluation_with_a_sequence_a_constant_sequence_and_a_non_sequence(rng):
    coefficients = T.dvector("coefficients")
    x = T.dscalar("x")
    max_coefficients_supported = 1000
    components, updates = th.scan(
        fn=lambda coefficient, power, free_variable: coefficient * (free_variable ** power),
        outputs_info=None,
        sequences=[coefficients, np.arange(max_coefficients_supported).astype("float64")],
        non_sequences=x)
    polynomial = components.sum()
    f = th.function([coefficients, x], polynomial)
    c = rng.uniform(-2, 2, size=5)
    xv = 1.7
    expected = sum(ci * xv ** i for i, ci in enumerate(c))
    assert abs(f(c, xv) - expected) < 1e-10
    assert not updates


def test_an_rnn_step_with_matrices_and_dot_keeps_float32(rng):
    x = T.fmatrix("x")
    h0 = T.fvector("h0")
    U = th.shared(rng.normal(size=(3, 4)).astype("float32"), name="U")
    W = th.shared((0.5 * rng.normal(size=(4, 4))).astype("float32"), name="W")
    h, _ = th.scan(lambda x_t, h_prev: T.tanh(T.dot(x_t, U) + T.dot(h_prev, W)), sequences=x, outputs_info=h0)
    f = th.function([x, h0], h)
    xv = rng.normal(size=(6, 3)).astype("float32")
    hv = np.zeros(4, dtype="float32")
    out = f(xv, hv)
    assert out.dtype == np.float32
    expected, prev = [], hv
    for row in xv:
        prev = np.tanh(row @ U.get_value() + prev @ W.get_value())
        expected.append(prev)
    _close(out, np.array(expected, dtype="float32"))


def test_two_recurrent_outputs_and_a_map_output_in_any_order(rng):
    x = T.dvector("x")
    a0 = T.dscalar("a0")
    b0 = T.dscalar("b0")

    def step(x_t, a, b):
        return a + x_t, x_t * 2, a * b

    (a_seq, doubled, b_seq), _ = th.scan(step, sequences=x, outputs_info=[a0, None, b0])
    f = th.function([x, a0, b0], [a_seq, doubled, b_seq])
    xv = rng.uniform(0.5, 1.5, size=6)
    a, b, ea, eb = 1.0, 2.0, [], []
    for v in xv:
        a, b = a + v, a * b
        ea.append(a)
        eb.append(b)
    out = f(xv, 1.0, 2.0)
    _close(out[0], ea)
    _close(out[1], xv * 2)
    _close(out[2], eb)


# ---------------------------------------------------------------------------
# sequences and taps
# ---------------------------------------------------------------------------

def test_several_sequences_with_taps_minus_one_zero_one_run_len_minus_two_steps(rng):
    x = T.dvector("x")
    y = T.dvector("y")
    out, _ = th.scan(lambda xm, x0, xp, yt: xm - 2 * x0 + xp + yt,
                     sequences=[dict(input=x, taps=[-1, 0, 1]), y])
    f = th.function([x, y], out)
    xv = rng.uniform(-1, 1, size=5)
    yv = rng.uniform(-1, 1, size=9)
    expected = [xv[t - 1] - 2 * xv[t] + xv[t + 1] + yv[t - 1] for t in range(1, 4)]
    _close(f(xv, yv), expected)


@pytest.mark.parametrize("taps, expected", [
    ([-2, -1], [1, 3, 5, 7]),
    ([1, 2], [3, 5, 7, 9]),
    ([-1, 0, 1], [3, 6, 9, 12]),
    ([0], [0, 1, 2, 3, 4, 5]),
    ([-1], [0, 1, 2, 3, 4]),
    ([2], [2, 3, 4, 5]),
])
def test_sequence_taps_select_rows_as_if_tap_zero_were_used(taps, expected):
    x = T.dvector("x")
    out, _ = th.scan(lambda *rows: sum(rows[1:], rows[0]), sequences=[dict(input=x, taps=taps)])
    _close(th.function([x], out)(np.arange(6.0)), np.array(expected, dtype="float64"))


def test_taps_are_passed_in_the_listed_order_not_sorted():
    x = T.dvector("x")
    out, _ = th.scan(lambda later, earlier: later * 10 + earlier, sequences=[dict(input=x, taps=[1, -1])])
    xv = np.arange(5.0)
    _close(th.function([x], out)(xv), [xv[t + 1] * 10 + xv[t - 1] for t in range(1, 4)])


def test_n_steps_truncates_the_sequences_and_a_larger_n_steps_is_cut_to_their_length():
    x = T.dvector("x")
    k = T.lscalar("k")
    out, _ = th.scan(lambda v, acc: acc + v, sequences=x, outputs_info=T.constant(np.float64(0)), n_steps=k)
    f = th.function([x, k], out)
    xv = np.arange(1.0, 6.0)
    _close(f(xv, 3), np.cumsum(xv)[:3])
    _close(f(xv, 50), np.cumsum(xv))


def test_n_steps_zero_gives_empty_outputs_symbolic_or_constant():
    x0 = T.dvector("x0")
    k = T.lscalar("k")
    out, _ = th.scan(lambda p: p + 1, outputs_info=x0, n_steps=k)
    assert th.function([x0, k], out)(np.ones(3), 0).shape == (0, 3)
    out0, _ = th.scan(lambda p: p + 1, outputs_info=x0, n_steps=0)
    assert th.function([x0], out0)(np.ones(3)).shape == (0, 3)
    m = T.dmatrix("m")
    doubled, _ = th.scan(lambda v: v * 2, sequences=m)
    assert th.function([m], doubled)(np.zeros((0, 4))).shape[0] == 0


def test_go_backwards_walks_the_sequence_from_its_end_and_keeps_iteration_order():
    v = T.dvector("v")
    out, _ = th.scan(lambda x, acc: acc * 10 + x, sequences=v, outputs_info=T.constant(np.float64(0)),
                     go_backwards=True)
    _close(th.function([v], out)(np.array([1.0, 2.0, 3.0])), [3.0, 32.0, 321.0])


def test_go_backwards_with_n_steps_takes_the_last_rows():
    v = T.dvector("v")
    out, _ = th.scan(lambda x, acc: acc * 10 + x, sequences=v, outputs_info=T.constant(np.float64(0)),
                     go_backwards=True, n_steps=2)
    _close(th.function([v], out)(np.array([1.0, 2.0, 3.0])), [3.0, 32.0])


def test_go_backwards_reverses_each_sequence_from_its_own_end():
    a = T.dvector("a")
    b = T.dvector("b")
    out, _ = th.scan(lambda x, y: x * 10 + y, sequences=[a, b], go_backwards=True)
    _close(th.function([a, b], out)(np.array([1.0, 2.0, 3.0]), np.arange(1.0, 6.0)), [35.0, 24.0, 13.0])


def test_go_backwards_with_taps(rng):
    x = T.dvector("x")
    out, _ = th.scan(lambda prev, cur: cur - prev, sequences=[dict(input=x, taps=[-1, 0])], go_backwards=True)
    xv = rng.uniform(size=6)
    _close(th.function([x], out)(xv), (xv[1:] - xv[:-1])[::-1])


def test_sequence_rows_of_a_transposed_or_strided_view(rng):
    m = T.dmatrix("m")
    out, _ = th.scan(lambda row: row.sum(), sequences=m.T[::2])
    mv = rng.uniform(size=(3, 7))
    _close(th.function([m], out)(mv), mv.T[::2].sum(axis=1))


# ---------------------------------------------------------------------------
# map outputs, until, return shapes
# ---------------------------------------------------------------------------

def test_map_outputs_are_stacked_over_the_steps(rng):
    m = T.dmatrix("m")
    sq, _ = th.scan(lambda row: row ** 2, sequences=m)
    tot, _ = th.map(lambda row: row.sum(), sequences=[m])
    f = th.function([m], [sq, tot])
    mv = rng.uniform(-2, 2, size=(4, 3))
    out = f(mv)
    _close(out[0], mv ** 2)
    _close(out[1], mv.sum(axis=1))


def test_until_stops_after_the_step_where_the_condition_holds():
    x0 = T.dscalar("x0")

    def step(prev):
        new = prev * 2
        return new, th.scan_module.until(new > 100)

    out, _ = th.scan(step, outputs_info=x0, n_steps=50)
    f = th.function([x0], out)
    expected, v = [], 3.0
    while True:
        v *= 2
        expected.append(v)
        if v > 100:
            break
    _close(f(3.0), expected)
    # The bound still applies when the condition never holds.
    _close(f(-1.0), [-(2.0 ** i) for i in range(1, 51)])


def test_until_can_come_first_or_with_updates_in_the_return_value():
    x0 = T.dscalar("x0")
    c = th.shared(np.float64(0), name="c")

    def step(prev):
        return th.scan_module.until(prev > 5), {c: c + 1}, prev + 1

    out, updates = th.scan(step, outputs_info=x0, n_steps=20)
    f = th.function([x0], out, updates=updates)
    _close(f(0.0), [1.0, 2.0, 3.0, 4.0, 5.0, 6.0, 7.0])
    assert c.get_value() == 7.0


def test_until_over_a_sequence():
    x = T.dvector("x")

    def step(v, acc):
        s = acc + v
        return s, th.scan_module.until(T.ge(s, 10))

    out, _ = th.scan(step, sequences=x, outputs_info=T.constant(np.float64(0)))
    _close(th.function([x], out)(np.arange(1.0, 10.0)), [1.0, 3.0, 6.0, 10.0])


def test_return_list_gives_a_list_even_for_one_output():
    x0 = T.dscalar("x0")
    outs, _ = th.scan(lambda p: p + 1, outputs_info=x0, n_steps=3, return_list=True)
    assert isinstance(outs, list) and len(outs) == 1
    _close(th.function([x0], outs[0])(1.0), [2.0, 3.0, 4.0])
    single, _ = th.scan(lambda p: p + 1, outputs_info=x0, n_steps=3)
    assert not isinstance(single, list)


def test_a_step_function_with_only_updates_returns_no_outputs():
    c = th.shared(np.int64(0), name="c")
    outs, updates = th.scan(lambda: {c: c + 2}, n_steps=4)
    assert outs is None
    f = th.function([], [], updates=updates)
    f()
    assert c.get_value() == 8


def test_the_last_value_of_a_scan_through_indexing():
    x = T.dvector("x")
    out, _ = th.scan(lambda v, acc: acc + v, sequences=x, outputs_info=T.constant(np.float64(0)))
    f = th.function([x], out[-1])
    assert f(np.arange(5.0)) == 10.0
    red, _ = th.reduce(lambda v, acc: acc + v, sequences=x, outputs_info=T.constant(np.float64(0)))
    assert th.function([x], red)(np.arange(5.0)) == 10.0
    left, _ = th.foldl(lambda v, acc: acc * 10 + v, sequences=x, outputs_info=T.constant(np.float64(0)))
    right, _ = th.foldr(lambda v, acc: acc * 10 + v, sequences=x, outputs_info=T.constant(np.float64(0)))
    assert th.function([x], [left, right])(np.array([1.0, 2.0, 3.0])) == [123.0, 321.0]


# ---------------------------------------------------------------------------
# shared variables
# ---------------------------------------------------------------------------

def test_updates_returned_by_the_step_function_give_the_value_after_the_last_step(rng):
    x = T.dvector("x")
    total = th.shared(np.float64(1.0), name="total")
    steps = th.shared(np.int64(0), name="steps")

    def step(v):
        return v * total, {total: total + v, steps: steps + 1}

    out, updates = th.scan(step, sequences=x)
    assert isinstance(updates, th.OrderedUpdates)
    assert set(k.name for k in updates) == {"total", "steps"}
    f = th.function([x], out, updates=updates)
    xv = rng.uniform(size=5)
    running, expected = 1.0, []
    for v in xv:
        expected.append(v * running)
        running += v
    _close(f(xv), expected)
    assert abs(total.get_value() - running) < 1e-12
    assert steps.get_value() == 5
    # A second call starts from the stored values.
    f(xv)
    assert steps.get_value() == 10


def test_without_the_updates_the_shared_variable_keeps_its_value():
    c = th.shared(np.float64(2.0), name="c")
    out, updates = th.scan(lambda p: (p * c, {c: c * 2}), outputs_info=T.constant(np.float64(1)), n_steps=3)
    f = th.function([], out)
    _close(f(), [2.0, 8.0, 64.0])
    assert c.get_value() == 2.0
    g = th.function([], out, updates=updates)
    _close(g(), [2.0, 8.0, 64.0])
    assert c.get_value() == 16.0


def test_a_default_update_used_in_the_body_advances_once_per_step():
    counter = th.shared(np.int64(0), name="counter")
    counter.default_update = counter + 1
    x = T.lvector("x")
    out, updates = th.scan(lambda v: v * 100 + counter, sequences=x)
    assert [k.name for k in updates] == ["counter"]
    f = th.function([x], out, updates=updates)
    _close(f(np.array([1, 2, 3])), [100, 201, 302])
    assert counter.get_value() == 3
    _close(f(np.array([1, 2, 3])), [103, 204, 305])
    assert counter.get_value() == 6


def test_default_update_chains_are_carried_together():
    a = th.shared(np.float64(1.0), name="a")
    b = th.shared(np.float64(0.0), name="b")
    a.default_update = a * 2
    b.default_update = b + a
    out, updates = th.scan(lambda: b * 1, n_steps=4)
    f = th.function([], out, updates=updates)
    a_, b_, expected = 1.0, 0.0, []
    for _ in range(4):
        expected.append(b_)
        a_, b_ = a_ * 2, b_ + a_
    _close(f(), expected)
    assert a.get_value() == a_ and b.get_value() == b_


def test_implicit_and_explicit_shared_weights_give_the_same_results(rng):
    W = th.shared(rng.uniform(-1, 1, size=(4, 4)), name="W")
    b = th.shared(rng.uniform(-1, 1, size=4), name="b")
    v0 = T.dvector("v0")
    implicit, _ = th.scan(lambda v: T.tanh(T.dot(v, W) + b), outputs_info=v0, n_steps=5)
    explicit, _ = th.scan(lambda v, W_, b_: T.tanh(T.dot(v, W_) + b_), outputs_info=v0, n_steps=5,
                          non_sequences=[W, b])
    f = th.function([v0], [implicit, explicit])
    start = rng.uniform(size=4)
    out = f(start)
    expected, v = [], start
    for _ in range(5):
        v = np.tanh(v @ W.get_value() + b.get_value())
        expected.append(v)
    _close(out[0], expected)
    _close(out[1], expected)


def test_a_captured_symbolic_variable_becomes_a_non_sequence():
    k = T.dscalar("k")
    x = T.dvector("x")
    out, _ = th.scan(lambda v: v * k, sequences=x)
    _close(th.function([x, k], out)(np.arange(4.0), 2.5), np.arange(4.0) * 2.5)


def test_a_non_sequence_computed_outside_is_not_recomputed_from_its_inputs():
    x = T.dvector("x")
    y = T.dvector("y")
    scale = y.sum() * 2
    out, _ = th.scan(lambda v, s: v * s, sequences=x, non_sequences=scale)
    _close(th.function([x, y], out)(np.arange(3.0), np.ones(2)), np.arange(3.0) * 4)


# ---------------------------------------------------------------------------
# nesting, modes, gc
# ---------------------------------------------------------------------------

def test_a_nested_scan_computes_cumulative_sums_of_each_row(rng):
    m = T.dmatrix("m")

    def row_cumsum(row):
        sums, _ = th.scan(lambda v, acc: acc + v, sequences=row, outputs_info=T.constant(np.float64(0)))
        return sums

    out, _ = th.scan(row_cumsum, sequences=m)
    f = th.function([m], out)
    mv = rng.uniform(size=(3, 5))
    _close(f(mv), np.cumsum(mv, axis=1))


def test_a_nested_scan_using_the_outer_state_and_a_shared_weight(rng):
    W = th.shared(rng.uniform(-0.5, 0.5, size=3), name="W")
    x0 = T.dvector("x0")

    def outer(prev):
        inner, _ = th.scan(lambda acc: acc * W + 1, outputs_info=prev, n_steps=2)
        return inner[-1]

    out, _ = th.scan(outer, outputs_info=x0, n_steps=3)
    f = th.function([x0], out)
    v = rng.uniform(size=3)
    start, expected = v, []
    for _ in range(3):
        for _ in range(2):
            v = v * W.get_value() + 1
        expected.append(v)
    _close(f(start), expected)


def test_a_counter_advanced_inside_a_nested_scan_needs_its_updates_returned():
    counter = th.shared(np.int64(0), name="counter")
    counter.default_update = counter + 1

    def outer(prev):
        inner, upd = th.scan(lambda: counter * 1, n_steps=2)
        return prev + inner.sum(), upd

    out, updates = th.scan(outer, outputs_info=T.constant(np.int64(0)), n_steps=3)
    f = th.function([], out, updates=updates)
    _close(f(), [1, 6, 15])
    assert counter.get_value() == 6

    def forgetful(prev):
        inner, _ = th.scan(lambda: counter * 1, n_steps=2)
        return prev + inner.sum()

    with pytest.raises(th.MissingInputError, match="counter"):
        th.scan(forgetful, outputs_info=T.constant(np.int64(0)), n_steps=3)


@pytest.mark.parametrize("mode", ["FAST_RUN", "FAST_COMPILE", "DebugMode"])
def test_every_mode_gives_the_numpy_results(rng, mode):
    W = th.shared(rng.uniform(size=3), name="W")
    x = T.dvector("x")
    out, _ = th.scan(lambda a, acc: acc + a * W.sum(), sequences=x, outputs_info=T.constant(np.float64(0)))
    f = th.function([x], out, mode=mode)
    xv = rng.uniform(size=5)
    _close(f(xv), np.cumsum(xv * W.get_value().sum()))


@pytest.mark.parametrize("scan_gc", [None, True, False])
@pytest.mark.parametrize("global_gc", [True, False])
def test_allow_gc_on_or_off_gives_identical_results_over_repeated_calls(rng, scan_gc, global_gc):
    x = T.dmatrix("x")
    h0 = T.dvector("h0")
    W = th.shared(rng.uniform(-0.3, 0.3, size=(50, 50)), name="W")
    h, _ = th.scan(lambda row, h: T.tanh(T.dot(h, W) + row * 2 + (row ** 2).sum()), sequences=x,
                   outputs_info=h0, allow_gc=scan_gc)
    xv = rng.uniform(size=(8, 50))
    hv = rng.uniform(size=50)
    expected, v = [], hv
    for row in xv:
        v = np.tanh(v @ W.get_value() + row * 2 + (row ** 2).sum())
        expected.append(v)
    with th.change_flags(allow_gc=global_gc):
        f = th.function([x, h0], h)
        for _ in range(3):
            _close(f(xv, hv), expected)


def test_with_gc_off_repeated_calls_need_no_new_memory(rng):
    # Rows of 32 KiB: every intermediate is big enough to be pooled.
    x = T.dmatrix("x")
    h0 = T.dvector("h0")
    out, _ = th.scan(lambda row, h: T.tanh(T.exp(row) * 2 + h), sequences=x, outputs_info=h0, allow_gc=False)
    xv = rng.uniform(size=(20, 4096))
    hv = rng.uniform(size=4096)
    with th.change_flags(allow_gc=False):
        f = th.function([x, h0], out, profile=True)
        first = f(xv, hv)
        for _ in range(4):
            f(xv, hv)
        stats = f.profile_stats()
    expected, h = [], hv
    for row in xv:
        h = np.tanh(np.exp(row) * 2 + h)
        expected.append(h)
    _close(first, expected)
    assert stats["last_call_fresh_bytes"] == 0


def test_scan_outputs_are_fresh_arrays_not_tied_to_later_calls():
    x0 = T.dvector("x0")
    out, _ = th.scan(lambda p: p + 1, outputs_info=x0, n_steps=600)
    f = th.function([x0], out)
    a = f(np.zeros(10))
    b = f(np.ones(10))
    _close(a[:, 0], np.arange(1.0, 601.0))
    _close(b[:, 0], np.arange(2.0, 602.0))


def test_the_step_function_receives_placeholders_named_after_the_inputs():
    x = T.dvector("x")
    h0 = T.dvector("h0")
    ns = T.dscalar("ns")
    seen = []

    def step(x_m1, x_t, h_m2, h_m1, k):
        seen.extend([x_m1.name, x_t.name, h_m2.name, h_m1.name, k is ns])
        return h_m1 + x_t * k

    th.scan(step, sequences=dict(input=x, taps=[-1, 0]), outputs_info=dict(initial=h0, taps=[-2, -1]),
            non_sequences=ns)
    assert seen == ["x[t-1]", "x[t]", "h0[t-2]", "h0[t-1]", True]


def test_pushed_out_sequence_work_keeps_results_with_go_backwards_and_taps(rng):
    x = T.dvector("x")
    W = th.shared(rng.uniform(size=4), name="W")

    def step(prev, cur, acc):
        return acc + cur * W.sum() + T.exp(cur) - prev

    out, _ = th.scan(step, sequences=dict(input=x, taps=[-1, 0]), outputs_info=T.constant(np.float64(0)),
                     go_backwards=True)
    plain, _ = th.scan(lambda cur, acc: acc * 0.5 + T.exp(cur) * W.sum(), sequences=x,
                       outputs_info=T.constant(np.float64(0)), go_backwards=True)
    xv = rng.uniform(size=7)
    f = th.function([x], [out, plain])
    s = W.get_value().sum()
    acc, expected = 0.0, []
    for t in range(6, 0, -1):
        acc = acc + xv[t] * s + np.exp(xv[t]) - xv[t - 1]
        expected.append(acc)
    acc, expected_plain = 0.0, []
    for t in range(6, -1, -1):
        acc = acc * 0.5 + np.exp(xv[t]) * s
        expected_plain.append(acc)
    got = f(xv)
    _close(got[0], expected)
    _close(got[1], expected_plain)


def test_ordered_updates_behave_like_theanos():
    a = th.shared(np.float64(0), name="a")
    b = th.shared(np.float64(0), name="b")
    u = th.OrderedUpdates()
    assert not u
    u[a] = a + 1
    u.update([(b, b + 2)])
    assert list(u) == [a, b] and u
    u.update({a: u[a]})
    with pytest.raises(KeyError):
        u.update([(a, a + 5)])
    with pytest.raises(TypeError):
        u[T.dscalar("x")] = a
    merged = th.OrderedUpdates([(a, a * 2)]) + th.OrderedUpdates([(b, b * 3)])
    assert list(merged) == [a, b]
    assert th.updates.OrderedUpdates is th.OrderedUpdates


def test_one_inner_variable_returned_as_several_outputs_and_as_the_condition():
    x0 = T.dscalar("x0")

    def step(a, b):
        new = a + b
        big = T.gt(new, 20)
        return [new, new, T.cast(big, "float64")], th.scan_module.until(big)

    (a, b, flag), _ = th.scan(step, outputs_info=[x0, x0, None], n_steps=30)
    out = th.function([x0], [a, b, flag])(1.0)
    expected, v = [], 1.0
    while True:
        v = v + v
        expected.append(v)
        if v > 20:
            break
    _close(out[0], expected)
    _close(out[1], expected)
    _close(out[2], [0.0] * (len(expected) - 1) + [1.0])


def test_taps_with_a_gap_read_the_right_past_values(rng):
    h0 = T.dmatrix("h0")
    out, _ = th.scan(lambda far, near: far * 0.5 + near, outputs_info=dict(initial=h0, taps=[-3, -1]), n_steps=6)
    init = rng.uniform(size=(3, 2))
    hist = list(init)
    for _ in range(6):
        hist.append(hist[-3] * 0.5 + hist[-1])
    _close(th.function([h0], out)(init), np.array(hist[3:]))


def test_until_with_go_backwards_and_an_integer_n_steps_from_numpy():
    x = T.lvector("x")

    def step(v, acc):
        s = acc + v
        return s, th.scan_module.until(T.ge(s, 12))

    out, _ = th.scan(step, sequences=x, outputs_info=T.constant(np.int64(0)), go_backwards=True,
                     n_steps=np.int64(4))
    _close(th.function([x], out)(np.arange(1, 8)), [7, 13])


def test_a_shared_variable_as_initial_state_is_never_aliased_by_the_output():
    s = th.shared(np.arange(3.0), name="s")
    out, _ = th.scan(lambda p: p + 1, outputs_info=s, n_steps=2)
    f = th.function([], out)
    r = f()
    r[:] = -1
    _close(s.get_value(), np.arange(3.0))
    _close(f(), [[1.0, 2.0, 3.0], [2.0, 3.0, 4.0]])
