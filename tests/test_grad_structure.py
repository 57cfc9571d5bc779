"""Gradients of the structural ops (Join, Split, Alloc, ARange, Eye,
Nonzero, RepeatOp, Rebroadcast, MaxAndArgmax, BatchedDot) and of the
functions composed from them (stack, concatenate, tile, zeros_like, var,
std, outer, tensordot, batched_dot, argmax, fill): finite differences
(`verify_grad`) on random inputs, exact values against hand-derived NumPy
gradients, and the inputs that are disconnected from the cost (axes,
shapes, counts)."""
import numpy as np
import pytest

import rtensor as th
from rtensor import gradient

T = th.tensor

DTYPES = ["float64", "float32"]


def _rand(rng, *shape, dtype="float64"):
    return np.asarray(rng.uniform(-2.0, 2.0, size=shape), dtype=dtype)


def _tol(dtype):
    return 1e-5 if dtype == "float32" else 1e-12


# ---------------------------------------------------------------------------
# Join (concatenate) and its compositions
# ---------------------------------------------------------------------------

JOIN_CASES = [
    ([(2, 3), (4, 3)], 0),
    ([(3, 2), (3, 1), (3, 4)], 1),
    ([(3, 2), (3, 5)], -1),
    ([(2, 3, 4), (2, 1, 4)], -2),
    ([(5,), (2,), (3,)], 0),
    ([(1, 4), (3, 4)], 0),
    ([(1, 2), (1, 3)], 1),
    ([(0, 3), (2, 3)], 0),
]


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("shapes,axis", JOIN_CASES)
def test_concatenate_gradients_match_finite_differences(shapes, axis, dtype, rng):
    gradient.verify_grad(lambda *xs: T.concatenate(list(xs), axis=axis) ** 2,
                         [_rand(rng, *s, dtype=dtype) for s in shapes], rng=rng)


def test_each_joined_tensor_gets_its_own_block_of_the_gradient(rng):
    x = T.matrix("x")
    y = T.matrix("y")
    W = T.matrix("W")
    gx, gy = T.grad((T.concatenate([x, y], axis=1) * W).sum(), [x, y])
    xv, yv, Wv = _rand(rng, 3, 2), _rand(rng, 3, 4), _rand(rng, 3, 6)
    rx, ry = th.function([x, y, W], [gx, gy])(xv, yv, Wv)
    np.testing.assert_array_equal(rx, Wv[:, :2])
    np.testing.assert_array_equal(ry, Wv[:, 2:])


@pytest.mark.parametrize("axis_value", [1, -1, 0, -2])
def test_a_symbolic_join_axis_splits_the_gradient_at_run_time(axis_value, rng):
    a = T.lscalar("a")
    x = T.matrix("x")
    y = T.matrix("y")
    W = T.matrix("W")
    gx, gy = T.grad((T.join(a, x, y) * W).sum(), [x, y])
    xv, yv = _rand(rng, 3, 3), _rand(rng, 3, 3)
    out_shape = np.concatenate([xv, yv], axis=axis_value).shape
    Wv = _rand(rng, *out_shape)
    rx, ry = th.function([a, x, y, W], [gx, gy])(axis_value, xv, yv, Wv)
    ex, ey = np.split(Wv, [3], axis=axis_value)
    np.testing.assert_array_equal(rx, ex)
    np.testing.assert_array_equal(ry, ey)


def test_the_join_axis_is_disconnected_from_the_cost():
    a = T.lscalar("a")
    x = T.matrix("x")
    with pytest.raises(gradient.DisconnectedInputError):
        T.grad(T.join(a, x, x).sum(), a)


def test_a_broadcastable_joined_input_gets_a_broadcastable_gradient(rng):
    r = T.row("r")
    m = T.matrix("m")
    gr, gm = T.grad((T.concatenate([r, m], axis=0) ** 2).sum(), [r, m])
    assert tuple(gr.broadcastable) == (True, False)
    assert tuple(gm.broadcastable) == (False, False)
    rv, mv = _rand(rng, 1, 4), _rand(rng, 3, 4)
    out_r, out_m = th.function([r, m], [gr, gm])(rv, mv)
    np.testing.assert_allclose(out_r, 2 * rv)
    np.testing.assert_allclose(out_m, 2 * mv)


def test_an_integer_tensor_joined_with_floats_gets_a_real_valued_gradient(rng):
    iv = T.ivector("iv")
    fv = T.vector("fv")
    w = np.arange(1.0, 6.0)
    g = T.grad((T.concatenate([iv, fv]) * w).sum(), iv)
    assert g.dtype == "float64"
    out = th.function([iv, fv], g)(np.array([1, 2], dtype="int32"), _rand(rng, 3))
    np.testing.assert_array_equal(out, w[:2])


def test_a_join_of_integers_passes_a_zero_gradient():
    iv = T.ivector("iv")
    g = T.grad(T.concatenate([iv, iv]).sum() * 1.5, iv)
    assert g.dtype == "float64"
    np.testing.assert_array_equal(g.eval({iv: np.array([3, 4, 5], dtype="int32")}), np.zeros(3))


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("shape,axis", [((4,), 0), ((3, 4), 0), ((3, 4), 1), ((3, 4), -1), ((2, 3, 4), -2)])
def test_stack_gradients_match_finite_differences(shape, axis, dtype, rng):
    gradient.verify_grad(lambda a, b, c: T.stack([a, b * 2.0, c], axis=axis) ** 2,
                         [_rand(rng, *shape, dtype=dtype) for _ in range(3)], rng=rng)


def test_stacking_scalars_gives_each_scalar_its_entry(rng):
    a = T.scalar("a")
    b = T.scalar("b")
    ga, gb = T.grad((T.stack([a, b, a]) * np.array([2.0, 3.0, 5.0])).sum(), [a, b])
    ra, rb = th.function([a, b], [ga, gb])(0.5, -1.0)
    assert float(ra) == 7.0 and float(rb) == 3.0


def test_horizontal_and_vertical_stacks_have_gradients(rng):
    gradient.verify_grad(lambda a, b: T.horizontal_stack(a, b) ** 2, [_rand(rng, 3, 2), _rand(rng, 3, 4)], rng=rng)
    gradient.verify_grad(lambda a, b: T.vertical_stack(a, b) ** 2, [_rand(rng, 2, 3), _rand(rng, 1, 3)], rng=rng)


# ---------------------------------------------------------------------------
# Split
# ---------------------------------------------------------------------------

SPLIT_CASES = [((6,), [2, 1, 3], 0), ((6, 3), [4, 2], 0), ((3, 5), [1, 0, 4], 1), ((2, 3, 5), [2, 3], -1)]


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("shape,sizes,axis", SPLIT_CASES)
def test_split_gradients_match_finite_differences(shape, sizes, axis, dtype, rng):
    def fun(x):
        pieces = T.split(x, sizes, len(sizes), axis=axis)
        return T.concatenate([p ** (k + 1) for k, p in enumerate(pieces)][::-1], axis=axis)

    gradient.verify_grad(fun, [_rand(rng, *shape, dtype=dtype)], rng=rng)


def test_pieces_the_cost_does_not_use_get_zero_gradients(rng):
    x = T.matrix("x")
    first, middle, last = T.split(x, [1, 2, 2], 3, axis=-1)
    g = T.grad((middle ** 2).sum(), x)
    xv = _rand(rng, 3, 5)
    expected = np.zeros((3, 5))
    expected[:, 1:3] = 2 * xv[:, 1:3]
    np.testing.assert_allclose(th.function([x], g)(xv), expected)


def test_a_single_piece_split_passes_the_gradient_through(rng):
    x = T.vector("x")
    piece = T.split(x, [4], 1)
    g = T.grad((piece * np.arange(4.0)).sum(), x)
    np.testing.assert_array_equal(th.function([x], g)(_rand(rng, 4)), np.arange(4.0))


def test_split_sizes_and_axis_are_disconnected_from_the_cost():
    x = T.vector("x")
    sizes = T.lvector("sizes")
    a = T.lscalar("a")
    pieces = T.split(x, sizes, 2, axis=a)
    cost = (pieces[0] ** 2).sum() + pieces[1].sum()
    for v in (sizes, a):
        with pytest.raises(gradient.DisconnectedInputError):
            T.grad(cost, v)
    g = th.function([x, sizes, a], T.grad(cost, x))(np.array([1.0, 2.0, 3.0]), np.array([1, 2]), 0)
    np.testing.assert_array_equal(g, [2.0, 1.0, 1.0])


# ---------------------------------------------------------------------------
# Alloc, fill and the *_like family
# ---------------------------------------------------------------------------

ALLOC_CASES = [((), (3, 4)), ((4,), (3, 4)), ((1, 4), (3, 4)), ((3, 1), (3, 4)), ((4,), (2, 3, 4)),
               ((3, 1), (2, 3, 4)), ((1, 1), (1, 3))]


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("value_shape,shape", ALLOC_CASES)
def test_alloc_gradients_match_finite_differences(value_shape, shape, dtype, rng):
    gradient.verify_grad(lambda v: T.alloc(v, *shape) ** 2, [_rand(rng, *value_shape, dtype=dtype)], rng=rng)


def test_the_gradient_of_an_alloc_sums_over_the_copies(rng):
    v = T.vector("v")
    c = T.col("c")
    W = T.tensor3("W")
    gv, gc = T.grad((T.alloc(v, 2, 3, 4) * T.alloc(c, 2, 3, 4) * W).sum(), [v, c])
    assert tuple(gc.broadcastable) == (False, True)
    vv, cv, Wv = _rand(rng, 4), _rand(rng, 3, 1), _rand(rng, 2, 3, 4)
    rv, rc = th.function([v, c, W], [gv, gc])(vv, cv, Wv)
    np.testing.assert_allclose(rv, (cv * Wv).sum(axis=(0, 1)), rtol=1e-12)
    np.testing.assert_allclose(rc, (vv * Wv).sum(axis=(0, 2))[:, None], rtol=1e-12)


def test_the_alloc_shape_is_disconnected_from_the_cost():
    x = T.scalar("x")
    n = T.lscalar("n")
    with pytest.raises(gradient.DisconnectedInputError):
        T.grad(T.alloc(x, n, 3).sum(), n)
    g = T.grad(T.alloc(x, n, 3).sum(), x)
    assert float(th.function([x, n], g)(0.5, 4)) == 12.0


@pytest.mark.parametrize("dtype", DTYPES)
def test_fill_and_the_like_family_have_gradients(dtype, rng):
    gradient.verify_grad(lambda m, v: T.fill(m, v) * m, [_rand(rng, 3, 4, dtype=dtype), _rand(rng, 4, dtype=dtype)],
                         rng=rng)
    gradient.verify_grad(lambda x: T.zeros_like(x) + T.ones_like(x) * x ** 2, [_rand(rng, 2, 3, dtype=dtype)], rng=rng)


def test_fill_sends_the_gradient_to_the_value_not_the_model(rng):
    m = T.matrix("m")
    v = T.scalar("v")
    gv = T.grad(T.fill(m, v).sum(), v)
    assert float(th.function([m, v], gv)(_rand(rng, 3, 4), 1.5)) == 12.0
    with pytest.raises(gradient.DisconnectedInputError):
        T.grad(T.fill(m, v).sum(), m)
    g = T.grad(T.zeros_like(m).sum(), m, disconnected_inputs="ignore")
    np.testing.assert_array_equal(th.function([m], g)(_rand(rng, 2, 2)), np.zeros((2, 2)))


# ---------------------------------------------------------------------------
# ARange, Eye, Nonzero
# ---------------------------------------------------------------------------


@pytest.mark.parametrize("dtype", DTYPES)
def test_arange_gradients_with_respect_to_start_and_step_match_finite_differences(dtype, rng):
    start = np.asarray(0.3, dtype=dtype)
    step = np.asarray(0.7, dtype=dtype)
    gradient.verify_grad(lambda a, s: T.arange(a, 5.0, s) ** 2, [start, step], rng=rng)
    gradient.verify_grad(lambda a, s: T.arange(a, -4.0, -s) ** 2, [start, step], rng=rng)


def test_arange_start_gets_the_sum_and_step_the_weighted_sum(rng):
    a = T.scalar("a")
    s = T.scalar("s")
    w = T.vector("w")
    y = T.arange(a, 4.0, s)
    ga, gs = T.grad((y * w).sum(), [a, s])
    wv = _rand(rng, 7)   # arange(0.5, 4, 0.5) has 7 elements
    ra, rs = th.function([a, s, w], [ga, gs])(0.5, 0.5, wv)
    np.testing.assert_allclose(ra, wv.sum(), rtol=1e-12)
    np.testing.assert_allclose(rs, (wv * np.arange(7)).sum(), rtol=1e-12)


def test_arange_stop_is_disconnected_and_integer_ranges_have_zero_gradients():
    a = T.scalar("a")
    stop = T.scalar("stop")
    with pytest.raises(gradient.DisconnectedInputError):
        T.grad(T.arange(a, stop, 1.0).sum(), stop)
    n = T.lscalar("n")
    g = T.grad((T.arange(n, 10) * 1.5).sum(), n)
    assert g.dtype == "float64"
    assert float(th.function([n], g)(3)) == 0.0


def test_eye_and_nonzero_are_disconnected_from_their_inputs(rng):
    n = T.lscalar("n")
    with pytest.raises(gradient.DisconnectedInputError):
        T.grad(T.eye(n).sum(), n)
    x = T.vector("x")
    nz = T.nonzero(x, return_matrix=True)
    with pytest.raises(gradient.DisconnectedInputError):
        T.grad(T.cast(nz, "float64").sum(), x)
    # Indexing with what nonzero found still passes the gradient to the data.
    g = T.grad((x[T.nonzero(x)] ** 2).sum(), x)
    xv = np.array([0.0, 1.5, 0.0, -2.0])
    np.testing.assert_allclose(th.function([x], g)(xv), 2 * xv)


def test_indexing_with_nonzero_matches_finite_differences(rng):
    gradient.verify_grad(lambda x: x[T.nonzero(T.gt(x, 0.0))] ** 2, [_rand(rng, 3, 4)], rng=rng)


# ---------------------------------------------------------------------------
# RepeatOp and tile
# ---------------------------------------------------------------------------

REPEAT_CASES = [((4,), [1, 0, 3, 2], 0), ((3, 4), [2, 1, 0], 0), ((3, 4), [1, 3, 0, 2], 1),
                ((3, 4), [2, 2, 1, 1], -1), ((2, 3, 2), [3, 1, 2], -2), ((2, 3), [1, 0, 2, 1, 1, 3], None)]


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("shape,repeats,axis", REPEAT_CASES)
def test_repeat_by_a_vector_of_counts_matches_finite_differences(shape, repeats, axis, dtype, rng):
    r = np.array(repeats, dtype="int64")
    gradient.verify_grad(lambda x: T.repeat(x, r, axis=axis) ** 2, [_rand(rng, *shape, dtype=dtype)], rng=rng)


def _segment_sums(gz, counts, axis):
    """What each element of the input receives from its copies."""
    starts = np.concatenate([[0], np.cumsum(counts)[:-1]])
    parts = [np.take(gz, np.arange(s, s + c), axis=axis).sum(axis=axis) for s, c in zip(starts, counts)]
    return np.stack(parts, axis=axis)


@pytest.mark.parametrize("axis", [0, 1, -1])
def test_repeat_gradients_are_segment_sums_of_the_copies(axis, rng):
    x = T.matrix("x")
    r = T.lvector("r")
    W = T.matrix("W")
    g = T.grad((T.repeat(x, r, axis=axis) * W).sum(), x)
    xv = _rand(rng, 3, 3)
    rv = np.array([2, 0, 3])
    Wv = _rand(rng, *np.repeat(xv, rv, axis=axis).shape)
    out = th.function([x, r, W], g)(xv, rv, Wv)
    np.testing.assert_allclose(out, _segment_sums(Wv, rv, axis), rtol=1e-12)


def test_one_count_for_every_element_repeats_them_all_alike(rng):
    x = T.matrix("x")
    r = T.lvector("r")
    g = T.grad((T.repeat(x, r, axis=1) ** 2).sum(), x)
    xv = _rand(rng, 2, 3)
    np.testing.assert_allclose(th.function([x, r], g)(xv, np.array([3])), 2 * 3 * xv)


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("shape,count,axis", [((4,), 3, 0), ((3, 4), 2, 1), ((3, 4), 2, -2), ((2, 3), 3, None),
                                              ((2, 3), 0, 0), ((2, 1, 3), 2, 1)])
def test_the_repeat_op_with_a_scalar_count_has_a_gradient(shape, count, axis, dtype, rng):
    def fun(x):
        out = th.graph.wrap(th._core.repeat(x, T.constant(count, dtype="int64"), axis))
        return out ** 2

    gradient.verify_grad(fun, [_rand(rng, *shape, dtype=dtype)], rng=rng)


def test_a_symbolic_scalar_count_sums_each_run_of_copies(rng):
    x = T.matrix("x")
    k = T.lscalar("k")
    W = T.matrix("W")
    g = T.grad((th.graph.wrap(th._core.repeat(x, k, 1)) * W).sum(), x)
    xv = _rand(rng, 2, 3)
    Wv = _rand(rng, 2, 12)
    np.testing.assert_allclose(th.function([x, k, W], g)(xv, 4, Wv), Wv.reshape(2, 3, 4).sum(axis=2), rtol=1e-12)


def test_repeat_counts_are_disconnected_from_the_cost():
    x = T.vector("x")
    r = T.lvector("r")
    with pytest.raises(gradient.DisconnectedInputError):
        T.grad(T.cast(T.repeat(x, r), "float64").sum(), r)


@pytest.mark.parametrize("shape,count,axis", [((3, 4), 2, 0), ((3, 4), 3, -1), ((5,), 2, None)])
def test_repeat_by_a_scalar_composes_a_differentiable_graph(shape, count, axis, rng):
    gradient.verify_grad(lambda x: T.repeat(x, count, axis=axis) ** 2, [_rand(rng, *shape)], rng=rng)


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("shape,reps,ndim", [((3,), (2,), None), ((2, 3), (2, 2), None), ((2, 3), (3,), None),
                                             ((2,), (2, 1, 3), None), ((2, 3), (2,), 3)])
def test_tile_gradients_match_finite_differences(shape, reps, ndim, dtype, rng):
    gradient.verify_grad(lambda x: T.tile(x, reps, ndim=ndim) ** 2, [_rand(rng, *shape, dtype=dtype)], rng=rng)


def test_the_gradient_of_a_tile_adds_up_the_tiles(rng):
    x = T.matrix("x")
    W = T.matrix("W")
    g = T.grad((T.tile(x, (2, 3)) * W).sum(), x)
    xv, Wv = _rand(rng, 2, 2), _rand(rng, 4, 6)
    expected = Wv.reshape(2, 2, 3, 2).sum(axis=(0, 2))
    np.testing.assert_allclose(th.function([x, W], g)(xv, Wv), expected, rtol=1e-12)


# ---------------------------------------------------------------------------
# Rebroadcast
# ---------------------------------------------------------------------------


def test_the_gradient_of_addbroadcast_has_the_input_s_own_pattern(rng):
    x = T.matrix("x")
    W = T.matrix("W")
    y = T.addbroadcast(x, 0)
    g = T.grad((y * W).sum(), x)
    assert tuple(g.broadcastable) == (False, False)
    xv, Wv = _rand(rng, 1, 4), _rand(rng, 3, 4)
    np.testing.assert_allclose(th.function([x, W], g)(xv, Wv), Wv.sum(axis=0, keepdims=True), rtol=1e-12)


def test_the_gradient_of_unbroadcast_is_broadcastable_again(rng):
    r = T.row("r")
    g = T.grad((T.unbroadcast(r, 0) ** 2).sum(), r)
    assert tuple(g.broadcastable) == (True, False)
    rv = _rand(rng, 1, 5)
    np.testing.assert_allclose(th.function([r], g)(rv), 2 * rv)


@pytest.mark.parametrize("dtype", DTYPES)
def test_rebroadcast_gradients_match_finite_differences(dtype, rng):
    gradient.verify_grad(lambda r: T.unbroadcast(r, 0) * 3.0 + T.patternbroadcast(r, (False, False)) ** 2,
                         [_rand(rng, 1, 4, dtype=dtype)], rng=rng)
    gradient.verify_grad(lambda x: T.addbroadcast(T.unbroadcast(x, -1), -1) ** 2,
                         [_rand(rng, 3, 1, dtype=dtype)], rng=rng)


# ---------------------------------------------------------------------------
# MaxAndArgmax, max/min and argmax
# ---------------------------------------------------------------------------


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("axis", [None, 0, 1, -1, (0, 2), [-1, 0]])
def test_max_and_argmax_gradients_match_finite_differences(axis, dtype, rng):
    v = rng.permutation(24).reshape(2, 3, 4).astype(dtype) * 0.25   # distinct values, no ties
    gradient.verify_grad(lambda x: T.max_and_argmax(x, axis=axis)[0] ** 2, [v], rng=rng)


def test_the_max_gradient_goes_to_every_maximal_element_and_argmax_passes_none(rng):
    x = T.matrix("x")
    mx, am = T.max_and_argmax(x, axis=1)
    cost = (mx * np.array([2.0, 3.0])).sum() + T.cast(am, "float64").sum()
    g = th.function([x], T.grad(cost, x))(np.array([[1.0, 4.0, 4.0], [5.0, -1.0, 0.0]]))
    np.testing.assert_array_equal(g, [[0.0, 2.0, 2.0], [3.0, 0.0, 0.0]])


def test_max_and_argmax_with_keepdims_has_a_gradient(rng):
    v = rng.permutation(12).reshape(3, 4).astype("float64")
    gradient.verify_grad(lambda x: T.max_and_argmax(x, axis=-1, keepdims=True)[0] * x, [v], rng=rng)


@pytest.mark.parametrize("fn", ["max", "min"])
@pytest.mark.parametrize("axis", [None, -1, (0, 1)])
def test_max_and_min_keep_their_gradients(fn, axis, rng):
    v = rng.permutation(24).reshape(2, 3, 4).astype("float64") * 0.5
    gradient.verify_grad(lambda x: getattr(T, fn)(x, axis=axis) ** 2, [v], rng=rng)
    gradient.verify_grad(lambda x: getattr(x, fn)(axis=axis, keepdims=True) * x, [v], rng=rng)


def test_argmax_and_argmin_have_zero_gradients(rng):
    x = T.matrix("x")
    cost = T.argmax(x, axis=1).sum() * 2.0 + T.argmin(x) * 1.0
    g = th.function([x], T.grad(cost, x))(_rand(rng, 3, 4))
    np.testing.assert_array_equal(g, np.zeros((3, 4)))


# ---------------------------------------------------------------------------
# BatchedDot and the products built on it
# ---------------------------------------------------------------------------

BATCHED_SHAPES = [((3, 2, 4), (3, 4, 5)), ((3, 4), (3, 4, 5)), ((3, 2, 4), (3, 4)), ((3, 4), (3, 4)),
                  ((1, 2, 3), (1, 3, 2)), ((2, 0, 3), (2, 3, 2))]


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("sx,sy", BATCHED_SHAPES)
def test_batched_dot_gradients_match_finite_differences(sx, sy, dtype, rng):
    gradient.verify_grad(T.batched_dot, [_rand(rng, *sx, dtype=dtype), _rand(rng, *sy, dtype=dtype)], rng=rng)


@pytest.mark.parametrize("dtype", DTYPES)
def test_batched_dot_gradients_are_batched_products_with_transposes(dtype, rng):
    x = T.tensor3("x", dtype=dtype)
    y = T.tensor3("y", dtype=dtype)
    W = T.tensor3("W", dtype=dtype)
    gx, gy = T.grad((T.batched_dot(x, y) * W).sum(), [x, y])
    assert gx.dtype == dtype and gy.dtype == dtype
    xv, yv, Wv = (_rand(rng, *s, dtype=dtype) for s in ((4, 2, 3), (4, 3, 5), (4, 2, 5)))
    rx, ry = th.function([x, y, W], [gx, gy])(xv, yv, Wv)
    np.testing.assert_allclose(rx, np.einsum("bij,bkj->bik", Wv, yv), rtol=_tol(dtype) * 10, atol=_tol(dtype))
    np.testing.assert_allclose(ry, np.einsum("bki,bkj->bij", xv, Wv), rtol=_tol(dtype) * 10, atol=_tol(dtype))


def test_batched_dot_of_a_batch_of_vectors_and_matrices_matches_numpy(rng):
    x = T.matrix("x")
    y = T.tensor3("y")
    W = T.matrix("W")
    gx, gy = T.grad((T.batched_dot(x, y) * W).sum(), [x, y])
    xv, yv, Wv = _rand(rng, 3, 4), _rand(rng, 3, 4, 2), _rand(rng, 3, 2)
    rx, ry = th.function([x, y, W], [gx, gy])(xv, yv, Wv)
    np.testing.assert_allclose(rx, np.einsum("bkj,bj->bk", yv, Wv), rtol=1e-12)
    np.testing.assert_allclose(ry, np.einsum("bk,bj->bkj", xv, Wv), rtol=1e-12)


@pytest.mark.parametrize("sx,sy", [((3,), (3, 4)), ((3, 4), (3,)), ((2, 3, 4, 2), (2, 2, 5)), ((2, 3, 4), (2, 2, 4, 3))])
def test_batched_dot_beyond_the_op_s_ranks_has_a_gradient(sx, sy, rng):
    gradient.verify_grad(T.batched_dot, [_rand(rng, *sx), _rand(rng, *sy)], rng=rng)


@pytest.mark.parametrize("sa,sb,axes", [((3, 4), (4, 5), 1), ((2, 3, 4), (3, 4, 5), 2), ((2, 3, 4), (4, 3), [[1, 2], [1, 0]]),
                                        ((3, 4), (5, 3), [[0], [1]]), ((2, 3), (3, 2), [[-1, 0], [0, -1]])])
def test_tensordot_gradients_match_finite_differences(sa, sb, axes, rng):
    gradient.verify_grad(lambda a, b: T.tensordot(a, b, axes=axes), [_rand(rng, *sa), _rand(rng, *sb)], rng=rng)


def test_batched_tensordot_has_a_gradient(rng):
    gradient.verify_grad(lambda a, b: T.batched_tensordot(a, b, axes=[[2], [1]]),
                         [_rand(rng, 2, 3, 4), _rand(rng, 2, 4, 5)], rng=rng)


@pytest.mark.parametrize("dtype", DTYPES)
def test_outer_gradients_match_finite_differences_and_numpy(dtype, rng):
    gradient.verify_grad(T.outer, [_rand(rng, 3, dtype=dtype), _rand(rng, 4, dtype=dtype)], rng=rng)
    gradient.verify_grad(T.outer, [_rand(rng, 2, 2, dtype=dtype), _rand(rng, 3, dtype=dtype)], rng=rng)
    x = T.vector("x")
    y = T.vector("y")
    W = T.matrix("W")
    gx, gy = T.grad((T.outer(x, y) * W).sum(), [x, y])
    xv, yv, Wv = _rand(rng, 3), _rand(rng, 4), _rand(rng, 3, 4)
    rx, ry = th.function([x, y, W], [gx, gy])(xv, yv, Wv)
    np.testing.assert_allclose(rx, Wv.dot(yv), rtol=1e-12)
    np.testing.assert_allclose(ry, xv.dot(Wv), rtol=1e-12)


# ---------------------------------------------------------------------------
# var and std
# ---------------------------------------------------------------------------


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("axis", [None, 0, -1, (0, 2)])
@pytest.mark.parametrize("ddof,corrected", [(0, False), (1, False), (1, True)])
def test_var_and_std_gradients_match_finite_differences(axis, ddof, corrected, dtype, rng):
    v = _rand(rng, 3, 4, 2, dtype=dtype)
    gradient.verify_grad(lambda x: T.var(x, axis=axis, ddof=ddof, corrected=corrected), [v], rng=rng)
    gradient.verify_grad(lambda x: T.std(x, axis=axis, ddof=ddof, keepdims=True), [v], rng=rng)


def test_the_gradient_of_a_variance_is_the_scaled_deviation(rng):
    x = T.vector("x")
    xv = _rand(rng, 6)
    g = th.function([x], T.grad(T.var(x), x))(xv)
    np.testing.assert_allclose(g, 2 * (xv - xv.mean()) / 6, rtol=1e-12, atol=1e-15)
    g = th.function([x], T.grad(T.std(x, ddof=1), x))(xv)
    np.testing.assert_allclose(g, (xv - xv.mean()) / (5 * xv.std(ddof=1)), rtol=1e-10)
