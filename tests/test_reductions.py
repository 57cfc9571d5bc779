"""Reductions compared with NumPy: argmax/argmin and max_and_argmax
(MaxAndArgmax), all/any, var/std and norm, and the axis handling of
sum/prod/mean/max/min (int, tuple and negative axes, keepdims, edges)."""
import numpy as np
import pytest

import rtensor as th

T = th.tensor
debugprint = th.printing.debugprint


def _var(dtype, ndim, name=None, bcast=None):
    return T.TensorType(dtype, tuple(bcast) if bcast is not None else (False,) * ndim)(name)


def _rand(rng, shape, dtype, low=-5, high=5):
    if dtype == "bool":
        return rng.randint(0, 2, size=shape).astype(bool)
    if np.dtype(dtype).kind in "iu":
        low = 0 if np.dtype(dtype).kind == "u" else low
        return np.asarray(rng.randint(low, high + 1, size=shape), dtype=dtype)
    return np.asarray(rng.uniform(low, high, size=shape), dtype=dtype)


def _check(out, expected, dtype=None, rtol=None):
    expected = np.asarray(expected)
    assert isinstance(out, np.ndarray)
    assert out.shape == expected.shape
    if dtype is not None:
        assert out.dtype == np.dtype(dtype)
    if out.dtype.kind == "f":
        tol = rtol if rtol is not None else (1e-5 if out.dtype.itemsize <= 4 else 1e-10)
        np.testing.assert_allclose(out, expected, rtol=tol, atol=tol)
    else:
        np.testing.assert_array_equal(out, expected)


def _owner_name(v):
    info = v.owner_info()
    return None if info is None else info[0]


def _np_argmax(x, axis):
    """NumPy's argmax generalised to several axes: the flat C-order index
    over the reduced axes (Theano's definition)."""
    if axis is None:
        axis = tuple(range(x.ndim))
    axis = tuple(sorted({a % x.ndim for a in ((axis,) if np.isscalar(axis) else axis)}))
    kept = [d for d in range(x.ndim) if d not in axis]
    moved = np.transpose(x, kept + list(axis))
    flat = moved.reshape(moved.shape[:len(kept)] + (-1,))
    return np.argmax(flat, axis=-1)


# ---------------------------------------------------------------------------
# argmax, argmin, max_and_argmax
# ---------------------------------------------------------------------------

ARG_CASES = [((7,), None), ((7,), 0), ((7,), -1), ((3, 4), None), ((3, 4), 0), ((3, 4), 1), ((3, 4), -1),
             ((2, 3, 4), 1), ((2, 3, 4), (0, 2)), ((2, 3, 4), (-1, 0)), ((2, 3, 4), (0, 1, 2)), ((1, 5), 0),
             ((4, 1), 1)]


@pytest.mark.parametrize("shape,axis", ARG_CASES)
@pytest.mark.parametrize("dtype", ["float64", "float32", "int32", "int8", "uint8", "float16"])
def test_argmax_matches_numpy(shape, axis, dtype, rng):
    x = _var(dtype, len(shape), "x")
    xv = _rand(rng, shape, dtype)
    out = th.function([x], T.argmax(x, axis=axis))(xv)
    _check(out, _np_argmax(xv, axis), dtype="int64")


@pytest.mark.parametrize("shape,axis", ARG_CASES)
@pytest.mark.parametrize("dtype", ["float64", "int16", "uint8", "bool"])
def test_argmin_matches_numpy(shape, axis, dtype, rng):
    x = _var(dtype, len(shape), "x")
    xv = _rand(rng, shape, dtype)
    out = th.function([x], T.argmin(x, axis=axis))(xv)
    _check(out, _np_argmax(-xv.astype("float64"), axis), dtype="int64")


def test_argmax_picks_the_first_of_equal_maxima_and_the_first_nan():
    x = T.dmatrix("x")
    f = th.function([x], [T.argmax(x, axis=1), T.max(x, axis=1)])
    xv = np.array([[1.0, 3.0, 3.0], [2.0, np.nan, np.nan], [np.nan, 5.0, 1.0], [0.0, 0.0, 0.0]])
    arg, mx = f(xv)
    _check(arg, np.argmax(xv, axis=1))
    np.testing.assert_array_equal(np.isnan(mx), [False, True, True, False])


@pytest.mark.parametrize("shape,axis", [((3, 4), 1), ((3, 4), None), ((2, 3, 4), (0, 2)), ((2, 3, 4), -1)])
def test_argmax_with_keepdims_broadcasts_against_the_input(shape, axis, rng):
    x = T.dtensor3("x") if len(shape) == 3 else T.dmatrix("x")
    xv = rng.rand(*shape)
    a = T.argmax(x, axis=axis, keepdims=True)
    assert a.ndim == len(shape)
    out = th.function([x], a)(xv)
    expected = _np_argmax(xv, axis)
    axes = range(len(shape)) if axis is None else [d % len(shape) for d in np.atleast_1d(axis)]
    _check(out, np.expand_dims(expected, tuple(sorted(axes))), dtype="int64")


def test_argmax_method_and_argmin_method(rng):
    x = T.fmatrix("x")
    xv = _rand(rng, (3, 5), "float32")
    a, b = th.function([x], [x.argmax(axis=-1), x.argmin(0, keepdims=True)])(xv)
    _check(a, np.argmax(xv, axis=-1), dtype="int64")
    _check(b, np.argmin(xv, axis=0)[None, :], dtype="int64")


def test_max_and_argmax_gives_both_outputs_named_max_and_argmax(rng):
    x = T.dmatrix("x")
    m, a = T.max_and_argmax(x, axis=0)
    assert str(m) == "max" and str(a) == "argmax"
    assert m.dtype == "float64" and a.dtype == "int64"
    xv = rng.rand(4, 3)
    mv, av = th.function([x], [m, a])(xv)
    _check(mv, xv.max(axis=0))
    _check(av, xv.argmax(axis=0))


def test_argmax_is_output_one_of_max_and_argmax_in_debugprint():
    x = T.dmatrix("x")
    text = debugprint(T.argmax(x, axis=1), file="str")
    assert text.splitlines()[0] == "MaxAndArgmax{axis=(1,)}.1 [id A] 'argmax'   "
    assert _owner_name(T.argmax(x)) == "MaxAndArgmax{axis=(0, 1)}"
    assert _owner_name(T.argmax(x, axis=(-1, 0))) == "MaxAndArgmax{axis=(0, 1)}"


def test_argmax_keeps_the_broadcastable_flags_of_kept_axes():
    r = T.drow("r")
    assert T.argmax(r, axis=1).broadcastable == [True]
    assert T.argmax(r, axis=0).broadcastable == [False]


def test_argmax_of_an_empty_axis_raises_value_error():
    x = T.dmatrix("x")
    f = th.function([x], T.argmax(x, axis=0))
    with pytest.raises(ValueError, match="empty"):
        f(np.zeros((0, 3)))
    _check(th.function([x], T.argmax(x, axis=1))(np.zeros((0, 3))), np.zeros(0, dtype="int64"))


def test_argmax_of_a_bad_axis_is_a_build_time_error():
    x = T.dmatrix("x")
    with pytest.raises(ValueError, match="axis"):
        T.argmax(x, axis=2)
    with pytest.raises(ValueError, match="axis"):
        T.argmax(x, axis=-3)


def test_argmax_of_a_scalar_is_zero():
    s = T.dscalar("s")
    _check(th.function([s], T.argmax(s))(3.5), np.int64(0), dtype="int64")


# ---------------------------------------------------------------------------
# all, any
# ---------------------------------------------------------------------------

LOGICAL_CASES = [((5,), None), ((3, 4), None), ((3, 4), 0), ((3, 4), -1), ((2, 3, 4), (0, 2)), ((0, 3), 0),
                 ((0, 3), 1), ((0,), None), ((), None)]


@pytest.mark.parametrize("shape,axis", LOGICAL_CASES)
@pytest.mark.parametrize("dtype", ["bool", "int32", "float64", "uint8"])
@pytest.mark.parametrize("keepdims", [False, True])
def test_all_and_any_match_numpy(shape, axis, dtype, keepdims, rng):
    x = _var(dtype, len(shape), "x")
    xv = _rand(rng, shape, dtype, low=-1, high=1)
    if dtype != "bool" and xv.size:
        xv.flat[0] = 0
    a, o = th.function([x], [T.all(x, axis=axis, keepdims=keepdims), T.any(x, axis=axis, keepdims=keepdims)])(xv)
    _check(a, np.all(xv, axis=axis, keepdims=keepdims), dtype="bool")
    _check(o, np.any(xv, axis=axis, keepdims=keepdims), dtype="bool")


def test_all_and_any_of_all_true_and_all_false_rows():
    x = T.imatrix("x")
    xv = np.array([[1, 2, 3], [0, 0, 0], [0, 5, 0]], dtype="int32")
    a, o = th.function([x], [x.all(axis=1), x.any(axis=1)])(xv)
    _check(a, [True, False, False])
    _check(o, [True, False, True])


def test_all_compares_non_bool_inputs_with_zero_and_names_itself_like_theano():
    x = T.dmatrix("x")
    text = debugprint(T.all(x, axis=1), file="str")
    assert text.splitlines()[0].startswith("All{1} [id A]")
    assert "Elemwise{neq,no_inplace}" in text
    b = T.TensorType("bool", (False, False))("b")
    assert _owner_name(T.any(b)) == "Any"
    assert _owner_name(T.any(b).owner.inputs[0]) is None
    assert T.all(x).dtype == "bool"


# ---------------------------------------------------------------------------
# var, std, norm
# ---------------------------------------------------------------------------

VAR_CASES = [((6,), None), ((3, 4), None), ((3, 4), 0), ((3, 4), -1), ((2, 3, 4), (0, 2)), ((2, 3, 4), 1),
             ((1, 4), 0)]


@pytest.mark.parametrize("shape,axis", VAR_CASES)
@pytest.mark.parametrize("keepdims", [False, True])
def test_var_and_std_match_numpy(shape, axis, keepdims, rng):
    x = _var("float64", len(shape), "x")
    xv = rng.randn(*shape) * 3 + 1
    v, s = th.function([x], [T.var(x, axis=axis, keepdims=keepdims), T.std(x, axis=axis, keepdims=keepdims)])(xv)
    _check(v, np.var(xv, axis=axis, keepdims=keepdims), dtype="float64")
    _check(s, np.std(xv, axis=axis, keepdims=keepdims), dtype="float64")


@pytest.mark.parametrize("shape,axis", VAR_CASES[:6])
@pytest.mark.parametrize("ddof", [1, 2])
def test_var_and_std_with_ddof_match_numpy(shape, axis, ddof, rng):
    x = _var("float64", len(shape), "x")
    xv = rng.randn(*shape)
    v, s = th.function([x], [x.var(axis=axis, ddof=ddof), x.std(axis=axis, ddof=ddof)])(xv)
    _check(v, np.var(xv, axis=axis, ddof=ddof))
    _check(s, np.std(xv, axis=axis, ddof=ddof))


@pytest.mark.parametrize("ddof", [0, 1])
def test_corrected_var_matches_numpy_on_badly_conditioned_data(ddof, rng):
    x = T.dvector("x")
    xv = 1e8 + rng.rand(1000)
    out = th.function([x], T.var(x, ddof=ddof, corrected=True))(xv)
    _check(out, np.var(xv, ddof=ddof), rtol=1e-6)


def test_var_keeps_float32_and_gives_float64_for_integers(rng):
    f, i = T.fmatrix("f"), T.imatrix("i")
    fv, iv = _rand(rng, (3, 4), "float32"), _rand(rng, (3, 4), "int32")
    vf, vi = th.function([f, i], [T.var(f, axis=0), T.std(i)])(fv, iv)
    _check(vf, np.var(fv, axis=0), dtype="float32")
    _check(vi, np.std(iv), dtype="float64")


def test_var_and_std_are_named_and_reject_a_bool_ddof():
    x = T.dmatrix("x")
    assert str(T.var(x)) == "var" and str(T.std(x)) == "std"
    with pytest.raises(ValueError, match="keepdims"):
        T.var(x, 0, True)
    with pytest.raises(ValueError):
        T.var(x, axis=2)


@pytest.mark.parametrize("L", [1, 2, 3])
@pytest.mark.parametrize("axis", [None, 0, -1])
def test_norm_matches_numpy(L, axis, rng):
    x = T.dmatrix("x")
    xv = rng.randn(3, 4)
    out = th.function([x], x.norm(L, axis=axis))(xv)
    _check(out, np.sum(np.abs(xv) ** L, axis=axis) ** (1.0 / L))


# ---------------------------------------------------------------------------
# sum / prod / mean / max / min: axes and keepdims
# ---------------------------------------------------------------------------

AXES = [None, 0, -1, 1, (0, 2), (-1, -3), (2, 0, 1), (1,), ()]
REDUCERS = [("sum", np.sum), ("prod", np.prod), ("mean", np.mean), ("max", np.max), ("min", np.min)]


@pytest.mark.parametrize("name,npf", REDUCERS)
@pytest.mark.parametrize("axis", AXES)
@pytest.mark.parametrize("keepdims", [False, True])
def test_reductions_accept_int_tuple_and_negative_axes_with_keepdims(name, npf, axis, keepdims, rng):
    x = T.dtensor3("x")
    xv = rng.uniform(0.5, 1.5, size=(2, 3, 4))
    out = th.function([x], getattr(T, name)(x, axis=axis, keepdims=keepdims))(xv)
    _check(out, npf(xv, axis=axis, keepdims=keepdims))
    method = th.function([x], getattr(x, name)(axis=axis, keepdims=keepdims))(xv)
    _check(method, npf(xv, axis=axis, keepdims=keepdims))


@pytest.mark.parametrize("name,npf", REDUCERS[:3])
@pytest.mark.parametrize("shape,axis", [((0, 3), 0), ((0, 3), 1), ((0,), None), ((2, 0, 3), (0, 2))])
def test_sum_prod_mean_of_empty_arrays_match_numpy(name, npf, shape, axis, rng):
    x = _var("float64", len(shape), "x")
    with np.errstate(invalid="ignore", divide="ignore"):
        import warnings

        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            expected = npf(np.zeros(shape), axis=axis)
    out = th.function([x], getattr(T, name)(x, axis=axis))(np.zeros(shape))
    _check(out, expected)


@pytest.mark.parametrize("name", ["max", "min"])
def test_max_and_min_of_an_empty_axis_raise_value_error(name):
    x = T.dmatrix("x")
    f = th.function([x], getattr(T, name)(x, axis=0))
    with pytest.raises(ValueError, match="zero-size"):
        f(np.zeros((0, 3)))


@pytest.mark.parametrize("name", ["sum", "prod", "mean", "max", "min"])
def test_reductions_of_an_out_of_range_axis_are_build_time_errors(name):
    x = T.dmatrix("x")
    with pytest.raises(ValueError):
        getattr(T, name)(x, axis=2)
    with pytest.raises(ValueError):
        getattr(T, name)(x, axis=(0, -3))


@pytest.mark.parametrize("dtype,sum_dtype", [("int8", "int64"), ("uint8", "uint64"), ("bool", "int64"),
                                             ("float32", "float32"), ("int32", "int64")])
def test_sum_keeps_theano_accumulator_dtypes_with_axes(dtype, sum_dtype, rng):
    x = _var(dtype, 2, "x")
    xv = _rand(rng, (3, 4), dtype)
    out = th.function([x], T.sum(x, axis=-1, keepdims=True))(xv)
    _check(out, np.sum(xv, axis=-1, keepdims=True, dtype=sum_dtype), dtype=sum_dtype)
