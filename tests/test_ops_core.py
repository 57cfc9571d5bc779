"""First-milestone ops compared with NumPy: arithmetic, comparisons, dot,
casts, indexing, dimshuffle, reshape/flatten, reductions, shape attributes,
constants and eval."""
import operator

import numpy as np
import pytest

import rtensor as th

T = th.tensor


def _var(dtype, ndim, name=None, bcast=None):
    if bcast is None:
        bcast = (False,) * ndim
    return T.TensorType(dtype, tuple(bcast))(name)


def _rand(rng, shape, dtype, low=-5, high=5, nonzero=False):
    if np.dtype(dtype).kind in "iu":
        v = rng.randint(low, high + 1, size=shape)
        if nonzero:
            v[v == 0] = 1
        return np.asarray(v, dtype=dtype)
    v = rng.uniform(low, high, size=shape)
    if nonzero:
        v[np.abs(v) < 0.5] = 1.25
    return np.asarray(v, dtype=dtype)


def _check(out, expected, dtype=None):
    expected = np.asarray(expected)
    assert isinstance(out, np.ndarray)
    assert out.shape == expected.shape
    if dtype is not None:
        assert out.dtype == np.dtype(dtype)
    scale = max(1.0, float(np.max(np.abs(expected)))) if expected.size and expected.dtype.kind in "fiu" else 1.0
    if out.dtype.kind == "f" and np.dtype(out.dtype).itemsize == 4:
        np.testing.assert_allclose(out, expected, rtol=1e-5, atol=1e-5 * scale)
    elif out.dtype.kind == "f":
        np.testing.assert_allclose(out, expected, rtol=1e-10, atol=1e-10 * scale)
    else:
        np.testing.assert_array_equal(out, expected)


# ---------------------------------------------------------------------------
# elementwise arithmetic with broadcasting
# ---------------------------------------------------------------------------

BINARY = [
    ("add", operator.add, np.add),
    ("sub", operator.sub, np.subtract),
    ("mul", operator.mul, np.multiply),
]

SHAPES = [
    # (shape a, bcast a, shape b, bcast b)
    ((4,), None, (4,), None),
    ((3, 4), None, (3, 4), None),
    ((3, 4), None, (1, 4), (True, False)),     # matrix op row
    ((3, 1), (False, True), (1, 4), (True, False)),  # col op row
    ((), None, (2, 3), None),                  # scalar op matrix
    ((2, 3, 4), None, (4,), None),             # tensor3 op vector
]

DTYPE_PAIRS = [("float64", "float64"), ("float32", "float32"), ("int32", "int32"),
               ("int64", "float32"), ("int8", "int32"), ("float32", "float64")]


@pytest.mark.parametrize("name,pyop,npop", BINARY)
@pytest.mark.parametrize("sa,ba,sb,bb", SHAPES)
@pytest.mark.parametrize("da,db", DTYPE_PAIRS)
def test_binary_arithmetic_matches_numpy_with_broadcasting(name, pyop, npop, sa, ba, sb, bb, da, db, rng):
    a = _var(da, len(sa), "a", ba)
    b = _var(db, len(sb), "b", bb)
    f = th.function([a, b], pyop(a, b))
    av = _rand(rng, sa, da)
    bv = _rand(rng, sb, db)
    expected = npop(av, bv)
    _check(f(av, bv), expected, dtype=np.result_type(av.dtype, bv.dtype))


@pytest.mark.parametrize("da,db", [("float64", "float64"), ("float32", "float32"), ("float32", "float64")])
@pytest.mark.parametrize("sa,ba,sb,bb", SHAPES)
def test_true_division_of_floats_matches_numpy(da, db, sa, ba, sb, bb, rng):
    a = _var(da, len(sa), "a", ba)
    b = _var(db, len(sb), "b", bb)
    f = th.function([a, b], a / b)
    av = _rand(rng, sa, da)
    bv = _rand(rng, sb, db, nonzero=True)
    _check(f(av, bv), av / bv, dtype=np.result_type(av.dtype, bv.dtype))


@pytest.mark.parametrize("floatX", ["float64", "float32"])
def test_true_division_of_ints_gives_floatX(floatX, rng):
    th.config.floatX = floatX
    a = T.ivector("a")
    b = T.ivector("b")
    f = th.function([a, b], a / b)
    av = _rand(rng, (6,), "int32")
    bv = _rand(rng, (6,), "int32", nonzero=True)
    out = f(av, bv)
    assert out.dtype == np.dtype(floatX)
    np.testing.assert_allclose(out, (av / bv).astype(floatX), rtol=1e-6)


@pytest.mark.parametrize("dtype", ["int32", "int64", "int8"])
def test_integer_floor_division_and_modulo_follow_python_signs(dtype, rng):
    a = _var(dtype, 1, "a")
    b = _var(dtype, 1, "b")
    f = th.function([a, b], [a // b, a % b])
    av = np.array([7, -7, 7, -7, 0, 5, -1, 9], dtype=dtype)
    bv = np.array([2, 2, -2, -2, 3, 5, 4, -4], dtype=dtype)
    q, m = f(av, bv)
    _check(q, av // bv, dtype=dtype)
    _check(m, av % bv, dtype=dtype)
    av = _rand(rng, (20,), dtype, -50, 50)
    bv = _rand(rng, (20,), dtype, -9, 9, nonzero=True)
    q, m = f(av, bv)
    _check(q, av // bv, dtype=dtype)
    _check(m, av % bv, dtype=dtype)


@pytest.mark.parametrize("dtype", ["float64", "float32"])
def test_float_floor_division_and_modulo_match_numpy(dtype, rng):
    a = _var(dtype, 2, "a")
    b = _var(dtype, 2, "b")
    f = th.function([a, b], [a // b, a % b])
    av = _rand(rng, (3, 4), dtype, -10, 10)
    bv = _rand(rng, (3, 4), dtype, -3, 3, nonzero=True)
    q, m = f(av, bv)
    _check(q, np.floor_divide(av, bv), dtype=dtype)
    _check(m, np.mod(av, bv), dtype=dtype)


@pytest.mark.parametrize("dtype", ["float64", "float32"])
def test_power_matches_numpy(dtype, rng):
    a = _var(dtype, 2, "a")
    b = _var(dtype, 2, "b")
    f = th.function([a, b], a ** b)
    av = _rand(rng, (3, 4), dtype, 0.1, 3)
    bv = _rand(rng, (3, 4), dtype, -2, 2)
    _check(f(av, bv), av ** bv, dtype=dtype)
    g = th.function([a], a ** 2)
    _check(g(av), av ** 2, dtype=dtype)


def test_integer_power_matches_numpy(rng):
    a = T.ivector("a")
    b = T.ivector("b")
    f = th.function([a, b], a ** b)
    av = _rand(rng, (10,), "int32", -4, 4)
    bv = _rand(rng, (10,), "int32", 0, 3)
    _check(f(av, bv), av ** bv, dtype="int32")


@pytest.mark.parametrize("dtype", ["float64", "float32", "int32", "int64"])
@pytest.mark.parametrize("shape", [(), (5,), (2, 3)])
def test_unary_negation_and_abs_match_numpy(dtype, shape, rng):
    x = _var(dtype, len(shape), "x")
    f = th.function([x], [-x, abs(x), T.abs_(x)])
    xv = _rand(rng, shape, dtype)
    neg, ab1, ab2 = f(xv)
    _check(neg, -xv, dtype=dtype)
    _check(ab1, np.abs(xv), dtype=dtype)
    _check(ab2, np.abs(xv), dtype=dtype)


def test_arithmetic_with_python_scalars_on_either_side(rng):
    x = T.dmatrix("x")
    f = th.function([x], [x + 2, 2 + x, x - 1.5, 3 - x, x * 0.5, 4 * x, x / 4, 1 / (x + 10), x ** 3])
    xv = _rand(rng, (2, 3), "float64")
    expected = [xv + 2, 2 + xv, xv - 1.5, 3 - xv, xv * 0.5, 4 * xv, xv / 4, 1 / (xv + 10), xv ** 3]
    for out, exp in zip(f(xv), expected):
        _check(out, exp, dtype="float64")


def test_elementwise_shape_mismatch_raises_value_error():
    x = T.dmatrix("x")
    y = T.dmatrix("y")
    f = th.function([x, y], x * y)
    with pytest.raises(ValueError, match="Input dimension mis-match"):
        f(np.ones((2, 3)), np.ones((2, 4)))


# ---------------------------------------------------------------------------
# comparisons
# ---------------------------------------------------------------------------

COMPARISONS = [
    (T.eq, np.equal), (T.neq, np.not_equal), (T.lt, np.less),
    (T.le, np.less_equal), (T.gt, np.greater), (T.ge, np.greater_equal),
]


@pytest.mark.parametrize("top,npop", COMPARISONS)
@pytest.mark.parametrize("da,db", [("float64", "float64"), ("int32", "int32"), ("int64", "float32")])
def test_comparison_functions_give_bool_results(top, npop, da, db, rng):
    a = _var(da, 2, "a")
    b = _var(db, 2, "b", (True, False))
    expr = top(a, b)
    assert expr.dtype == "bool"
    f = th.function([a, b], expr)
    av = _rand(rng, (4, 3), da, -2, 2)
    bv = _rand(rng, (1, 3), db, -2, 2)
    av[0] = bv[0]  # make sure some entries are equal
    _check(f(av, bv), npop(av, bv), dtype="bool")


@pytest.mark.parametrize("pyop,npop", [(operator.lt, np.less), (operator.le, np.less_equal),
                                       (operator.gt, np.greater), (operator.ge, np.greater_equal)])
def test_comparison_operators_give_bool_results(pyop, npop, rng):
    a = T.dvector("a")
    b = T.dvector("b")
    f = th.function([a, b], pyop(a, b))
    av = _rand(rng, (8,), "float64", -2, 2)
    bv = av.copy()
    bv[::2] = _rand(rng, (4,), "float64", -2, 2)
    _check(f(av, bv), npop(av, bv), dtype="bool")


def test_comparison_result_combines_with_arithmetic(rng):
    x = T.dvector("x")
    f = th.function([x], T.mean(T.gt(x, 0)))
    xv = _rand(rng, (50,), "float64")
    out = f(xv)
    assert out.dtype == np.float64
    assert float(out) == pytest.approx(np.mean(xv > 0))


# ---------------------------------------------------------------------------
# dot
# ---------------------------------------------------------------------------

@pytest.mark.parametrize("dtype", ["float64", "float32"])
@pytest.mark.parametrize("sa,sb", [((5,), (5,)), ((3, 5), (5,)), ((5,), (5, 4)),
                                   ((3, 5), (5, 4)), ((1, 7), (7, 1)), ((6, 2), (2, 6))])
def test_dot_matches_numpy(dtype, sa, sb, rng):
    a = _var(dtype, len(sa), "a")
    b = _var(dtype, len(sb), "b")
    expr = T.dot(a, b)
    assert expr.ndim == len(sa) + len(sb) - 2
    assert expr.dtype == dtype
    f = th.function([a, b], expr)
    av = _rand(rng, sa, dtype)
    bv = _rand(rng, sb, dtype)
    _check(f(av, bv), np.dot(av, bv), dtype=dtype)


def test_dot_of_mixed_precision_upcasts(rng):
    a = T.fmatrix("a")
    b = T.dmatrix("b")
    f = th.function([a, b], T.dot(a, b))
    av = _rand(rng, (2, 3), "float32")
    bv = _rand(rng, (3, 2), "float64")
    out = f(av, bv)
    assert out.dtype == np.float64
    np.testing.assert_allclose(out, av.astype(np.float64).dot(bv), rtol=1e-12)


def test_dot_with_shared_weights_and_bias(rng):
    x = T.dmatrix("x")
    Wv = rng.randn(4, 3)
    bv = rng.randn(3)
    W = th.shared(Wv, name="W")
    b = th.shared(bv, name="b")
    f = th.function([x], T.dot(x, W) + b)
    xv = rng.randn(5, 4)
    _check(f(xv), xv.dot(Wv) + bv, dtype="float64")


def test_dot_shape_mismatch_raises_value_error():
    a = T.dmatrix("a")
    b = T.dmatrix("b")
    f = th.function([a, b], T.dot(a, b))
    with pytest.raises(ValueError):
        f(np.ones((2, 3)), np.ones((4, 2)))


# ---------------------------------------------------------------------------
# casts
# ---------------------------------------------------------------------------

@pytest.mark.parametrize("target", ["int8", "int32", "int64"])
def test_cast_float_to_int_truncates_toward_zero(target, rng):
    x = T.dvector("x")
    f = th.function([x], [T.cast(x, target), x.astype(target)])
    xv = np.concatenate([np.array([-1.7, 1.7, -0.5, 0.5, 2.999, -2.999, 0.0]),
                         _rand(rng, (10,), "float64", -100, 100)])
    for out in f(xv):
        _check(out, np.trunc(xv).astype(target), dtype=target)


@pytest.mark.parametrize("src,target", [("int32", "float64"), ("int64", "float32"), ("float64", "float32"),
                                        ("float32", "float64"), ("int8", "int64"), ("bool", "int32")])
def test_cast_between_dtypes_matches_numpy_astype(src, target, rng):
    x = _var(src, 2, "x")
    expr = T.cast(x, target)
    assert expr.dtype == target
    f = th.function([x], expr)
    xv = _rand(rng, (3, 4), "float64" if src.startswith("f") else "int64", -20, 20)
    xv = xv.astype(src)
    _check(f(xv), xv.astype(target), dtype=target)


def test_cast_to_the_same_dtype_keeps_values(rng):
    x = T.fvector("x")
    f = th.function([x], T.cast(x, "float32") * 1)
    xv = _rand(rng, (5,), "float32")
    _check(f(xv), xv, dtype="float32")


# ---------------------------------------------------------------------------
# indexing
# ---------------------------------------------------------------------------

def test_integer_indexing_with_constants_and_negatives(rng):
    x = T.dmatrix("x")
    v = T.dvector("v")
    f = th.function([x, v], [x[1], x[-1], x[:, 2], x[1, -2], v[0], v[-1]])
    xv = rng.randn(4, 5)
    vv = rng.randn(6)
    expected = [xv[1], xv[-1], xv[:, 2], xv[1, -2], vv[0], vv[-1]]
    for out, exp in zip(f(xv, vv), expected):
        _check(out, exp, dtype="float64")


def test_integer_indexing_with_a_symbolic_index(rng):
    v = T.dvector("v")
    i = T.lscalar("i")
    f = th.function([v, i], v[i])
    vv = rng.randn(6)
    for idx in [0, 3, 5, -1, -6]:
        out = f(vv, idx)
        assert out.ndim == 0
        assert float(out) == vv[idx]


def test_integer_index_out_of_range_raises_index_error():
    v = T.dvector("v")
    i = T.lscalar("i")
    f = th.function([v, i], v[i])
    with pytest.raises(IndexError):
        f(np.arange(3.0), 3)
    with pytest.raises(IndexError):
        f(np.arange(3.0), -4)


@pytest.mark.parametrize("sl", [slice(1, 4), slice(None, None, 2), slice(None, None, -1), slice(-3, None),
                                slice(None, -2), slice(5, 1, -1), slice(-1, -5, -2), slice(2, 2),
                                slice(0, 100), slice(-100, 3), slice(1, None, 3)])
def test_constant_slices_match_numpy(sl, rng):
    v = T.dvector("v")
    f = th.function([v], v[sl])
    vv = rng.randn(7)
    _check(f(vv), vv[sl], dtype="float64")


@pytest.mark.parametrize("start,stop,step", [(1, 5, 1), (0, 7, 2), (-4, -1, 1), (6, 0, -2), (-1, -8, -1),
                                             (3, 3, 1), (2, 100, 3), (-100, 4, 1)])
def test_symbolic_slice_bounds_match_numpy(start, stop, step, rng):
    v = T.dvector("v")
    a = T.lscalar("a")
    b = T.lscalar("b")
    c = T.lscalar("c")
    f = th.function([v, a, b, c], v[a:b:c])
    g = th.function([v, a, b], v[a:b])
    vv = rng.randn(7)
    _check(f(vv, start, stop, step), vv[start:stop:step], dtype="float64")
    _check(g(vv, start, stop), vv[start:stop], dtype="float64")


def test_matrix_slicing_on_both_axes(rng):
    x = T.imatrix("x")
    a = T.iscalar("a")
    f = th.function([x, a], [x[1:3, ::2], x[a:, -1], x[::-1, a:a + 2], x[:, 1:]])
    xv = _rand(rng, (5, 6), "int32", -100, 100)
    for av in [0, 1, 3]:
        out = f(xv, av)
        expected = [xv[1:3, ::2], xv[av:, -1], xv[::-1, av:av + 2], xv[:, 1:]]
        for o, e in zip(out, expected):
            _check(o, e, dtype="int32")


def test_slice_of_expression_and_expression_of_slice(rng):
    x = T.dvector("x")
    f = th.function([x], [(x * 2)[1:-1], x[1:] + x[:-1]])
    xv = rng.randn(6)
    out = f(xv)
    _check(out[0], (xv * 2)[1:-1], dtype="float64")
    _check(out[1], xv[1:] + xv[:-1], dtype="float64")


# ---------------------------------------------------------------------------
# .T, dimshuffle, reshape, flatten
# ---------------------------------------------------------------------------

def test_transpose_attribute_matches_numpy(rng):
    x = T.dmatrix("x")
    y = T.dtensor3("y")
    v = T.dvector("v")
    f = th.function([x, y, v], [x.T, y.T, v.T])
    xv = rng.randn(2, 3)
    yv = rng.randn(2, 3, 4)
    vv = rng.randn(5)
    out = f(xv, yv, vv)
    _check(out[0], xv.T)
    _check(out[1], yv.T)
    _check(out[2], vv)


@pytest.mark.parametrize("pattern,shape,bcast_out", [
    (("x", 0), (4,), (True, False)),
    ((0, "x"), (4,), (False, True)),
    ((1, 0), (2, 3), (False, False)),
    ((0, "x", 1), (2, 3), (False, True, False)),
    (("x", "x", 0, 1), (2, 3), (True, True, False, False)),
    ((2, 0, 1), (2, 3, 4), (False, False, False)),
])
def test_dimshuffle_matches_numpy(pattern, shape, bcast_out, rng):
    x = _var("float64", len(shape), "x")
    y = x.dimshuffle(*pattern)
    assert tuple(y.broadcastable) == bcast_out
    f = th.function([x], y)
    xv = rng.randn(*shape)
    perm = [p for p in pattern if p != "x"]
    expected = np.transpose(xv, perm) if perm else xv
    expected = expected.reshape([1 if p == "x" else xv.shape[p] for p in pattern])
    _check(f(xv), expected)


def test_dimshuffle_accepts_a_tuple_argument(rng):
    x = T.dmatrix("x")
    f = th.function([x], x.dimshuffle((1, "x", 0)))
    xv = rng.randn(2, 3)
    _check(f(xv), xv.T.reshape(3, 1, 2))


def test_dimshuffle_can_drop_a_broadcastable_dimension(rng):
    r = T.drow("r")
    c = T.dcol("c")
    f = th.function([r, c], [r.dimshuffle(1), c.dimshuffle(0)])
    rv = rng.randn(1, 4)
    cv = rng.randn(3, 1)
    out = f(rv, cv)
    assert out[0].shape == (4,) and out[1].shape == (3,)
    _check(out[0], rv[0])
    _check(out[1], cv[:, 0])


def test_dimshuffle_dropping_a_non_broadcastable_dimension_raises():
    x = T.dmatrix("x")
    with pytest.raises(ValueError, match="You cannot drop a non-broadcastable dimension"):
        x.dimshuffle(1)


def test_dimshuffle_with_a_repeated_axis_raises():
    x = T.dmatrix("x")
    with pytest.raises(ValueError):
        x.dimshuffle(0, 0)


@pytest.mark.parametrize("shape,new", [((2, 6), (3, 4)), ((2, 6), (12,)), ((2, 6), (2, -1)),
                                       ((2, 3, 4), (6, 4)), ((24,), (2, 3, 4)), ((2, 6), [4, 3]),
                                       ((2, 6), (-1, 1, 3))])
def test_reshape_matches_numpy(shape, new, rng):
    x = _var("float64", len(shape), "x")
    y = x.reshape(new)
    assert y.ndim == len(new)
    f = th.function([x], y)
    xv = rng.randn(*shape)
    _check(f(xv), xv.reshape(new))


def test_reshape_with_symbolic_shape_vector_and_ndim(rng):
    x = T.dvector("x")
    s = T.lvector("s")
    y = x.reshape(s, ndim=2)
    assert y.ndim == 2
    f = th.function([x, s], y)
    xv = rng.randn(12)
    _check(f(xv, np.array([3, 4])), xv.reshape(3, 4))
    _check(f(xv, np.array([6, 2])), xv.reshape(6, 2))


def test_reshape_with_symbolic_scalar_in_tuple(rng):
    x = T.dmatrix("x")
    n = T.lscalar("n")
    y = x.reshape((n, -1))
    f = th.function([x, n], y)
    xv = rng.randn(4, 6)
    _check(f(xv, 8), xv.reshape(8, -1))
    _check(f(xv, 2), xv.reshape(2, -1))


def test_reshape_to_an_incompatible_size_raises_value_error():
    x = T.dvector("x")
    f = th.function([x], x.reshape((3, 3)))
    with pytest.raises(ValueError):
        f(np.arange(8.0))


@pytest.mark.parametrize("shape,ndim", [((2, 3, 4), 1), ((2, 3, 4), 2), ((2, 3, 4), 3), ((5, 2), 1), ((7,), 1)])
def test_flatten_matches_numpy(shape, ndim, rng):
    x = _var("float64", len(shape), "x")
    y = x.flatten(ndim)
    assert y.ndim == ndim
    f = th.function([x], y)
    xv = rng.randn(*shape)
    _check(f(xv), xv.reshape(shape[:ndim - 1] + (-1,)))


def test_flatten_default_is_one_dimensional(rng):
    x = T.dtensor3("x")
    f = th.function([x], x.flatten())
    xv = rng.randn(2, 3, 2)
    _check(f(xv), xv.ravel())
    _check(f(np.asfortranarray(xv)), xv.ravel())


# ---------------------------------------------------------------------------
# reductions
# ---------------------------------------------------------------------------

@pytest.mark.parametrize("dtype", ["float64", "float32", "int32", "int64"])
@pytest.mark.parametrize("axis", [None, 0, 1, -1])
@pytest.mark.parametrize("method", ["sum", "mean", "max"])
def test_reductions_match_numpy(dtype, axis, method, rng):
    x = _var(dtype, 2, "x")
    expr = getattr(x, method)(axis=axis)
    f = th.function([x], expr)
    xv = _rand(rng, (4, 5), dtype, -10, 10)
    out = f(xv)
    expected = getattr(np, method)(xv, axis=axis)
    if method == "mean" and np.dtype(dtype).kind in "iu":
        exp_dtype = "float64"
    elif method == "sum" and np.dtype(dtype).kind in "iu":
        exp_dtype = "int64"
    else:
        exp_dtype = dtype
    assert expr.dtype == exp_dtype
    _check(out, np.asarray(expected).astype(exp_dtype), dtype=exp_dtype)


@pytest.mark.parametrize("axis", [None, 0, 1, 2])
def test_tensor_functions_for_reductions_match_numpy(axis, rng):
    x = T.dtensor3("x")
    f = th.function([x], [T.sum(x, axis=axis), T.mean(x, axis=axis), T.max(x, axis=axis)])
    xv = rng.randn(2, 3, 4)
    s, m, mx = f(xv)
    _check(s, xv.sum(axis=axis))
    _check(m, xv.mean(axis=axis))
    _check(mx, xv.max(axis=axis))


def test_reductions_of_a_vector_give_zero_dim_arrays(rng):
    v = T.dvector("v")
    f = th.function([v], [v.sum(), v.mean(), v.max()])
    vv = rng.randn(9)
    for out, exp in zip(f(vv), [vv.sum(), vv.mean(), vv.max()]):
        assert isinstance(out, np.ndarray) and out.ndim == 0
        assert float(out) == pytest.approx(exp, rel=1e-12)


def test_sum_of_int8_vector_is_int64_without_overflow():
    v = T.bvector("v")
    f = th.function([v], v.sum())
    vv = np.full(100, 100, dtype="int8")
    out = f(vv)
    assert out.dtype == np.int64
    assert int(out) == 10000


# ---------------------------------------------------------------------------
# shape, ndim, dtype
# ---------------------------------------------------------------------------

def test_shape_is_a_symbolic_int64_vector(rng):
    x = T.dtensor3("x")
    sh = x.shape
    assert sh.ndim == 1
    assert sh.dtype == "int64"
    f = th.function([x], [sh, x.shape[0], x.shape[-1]])
    for shape in [(2, 3, 4), (1, 5, 1), (0, 2, 3)]:
        xv = np.zeros(shape)
        s, s0, slast = f(xv)
        assert s.dtype == np.int64
        np.testing.assert_array_equal(s, shape)
        assert int(s0) == shape[0]
        assert int(slast) == shape[-1]


def test_shape_can_drive_arithmetic(rng):
    x = T.dmatrix("x")
    f = th.function([x], x.sum() / x.shape[0])
    xv = rng.randn(4, 3)
    assert float(f(xv)) == pytest.approx(xv.sum() / 4)


def test_ndim_and_dtype_attributes_are_plain_python_values():
    x = T.ftensor3("x")
    assert x.ndim == 3 and type(x.ndim) is int
    assert x.dtype == "float32" and isinstance(x.dtype, str)
    y = x.sum(axis=0)
    assert y.ndim == 2
    assert T.lscalar().ndim == 0
    assert (T.ivector() + T.dvector()).dtype == "float64"


# ---------------------------------------------------------------------------
# constants, as_tensor_variable, eval
# ---------------------------------------------------------------------------

def test_as_tensor_variable_wraps_arrays_and_returns_variables_unchanged(rng):
    a = rng.randn(2, 3)
    c = T.as_tensor_variable(a)
    assert c.ndim == 2 and c.dtype == "float64"
    _check(c.eval(), a)
    x = T.dmatrix("x")
    assert T.as_tensor_variable(x) is x
    i = T.as_tensor_variable(np.arange(4))
    assert i.dtype == "int64"
    _check(i.eval(), np.arange(4))


def test_as_tensor_variable_of_python_numbers_follows_literal_rules():
    assert T.as_tensor_variable(3).dtype == "int8"
    assert T.as_tensor_variable(1000).dtype == "int16"
    assert T.as_tensor_variable(1.5).dtype == "float32"
    assert T.as_tensor_variable(0.1).dtype == "float64"


def test_constant_values_and_dtypes(rng):
    a = rng.randn(3).astype("float32")
    c = T.constant(a)
    assert c.dtype == "float32"
    _check(c.eval(), a, dtype="float32")
    c2 = T.constant(a, dtype="float64")
    assert c2.dtype == "float64"
    _check(c2.eval(), a.astype("float64"), dtype="float64")
    five = T.constant(5)
    assert int(five.eval()) == 5
    assert five.data == 5


def test_constants_combine_with_variables(rng):
    x = T.dvector("x")
    k = T.constant(np.array([1.0, -2.0, 3.0]))
    f = th.function([x], x * k + T.constant(0.5))
    xv = rng.randn(3)
    _check(f(xv), xv * np.array([1.0, -2.0, 3.0]) + 0.5)


def test_eval_with_a_dict_of_values(rng):
    x = T.dmatrix("x")
    y = T.dvector("y")
    e = (x * 2 + y).sum(axis=1)
    for _ in range(3):
        xv = rng.randn(3, 4)
        yv = rng.randn(4)
        _check(e.eval({x: xv, y: yv}), (xv * 2 + yv).sum(axis=1))


def test_eval_of_a_graph_of_shared_variables_needs_no_inputs(rng):
    sv = rng.randn(5)
    s = th.shared(sv)
    _check((s * 3).eval(), sv * 3)
    s.set_value(sv + 1)
    _check((s * 3).eval(), (sv + 1) * 3)
