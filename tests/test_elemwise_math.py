"""The elementwise vocabulary (exp, log, trig, erf, rounding, clip, bitwise,
isnan...): values against NumPy and the `math` module on random inputs,
Theano's output dtypes, broadcasting, NaN/inf edges, empty arrays, strided
and large inputs, names in debugprint, and the errors of undefined cases."""
import math

import numpy as np
import pytest

import rtensor as th

T = th.tensor

FLOATS = ("float32", "float64")
SMALL_INTS = ("bool", "int8", "uint8", "int16", "uint16")
BIG_INTS = ("int32", "uint32", "int64", "uint64")
SHAPES = [(), (7,), (3, 4), (2, 3, 5), (0, 3)]


def theano_float(dtype):
    """Theano's upgrade_to_float: the dtype float functions give."""
    if dtype in SMALL_INTS:
        return "float32"
    if dtype in BIG_INTS:
        return "float64"
    return dtype


def var(dtype, ndim, name="x"):
    return T.TensorType(dtype, (False,) * ndim)(name)


def random_values(rng, shape, dtype, low, high):
    if dtype == "bool":
        return rng.randint(0, 2, size=shape).astype(bool)
    if np.dtype(dtype).kind in "iu":
        lo = max(int(math.ceil(low)), np.iinfo(dtype).min)
        hi = min(int(math.floor(high)), np.iinfo(dtype).max)
        return rng.randint(lo, hi + 1, size=shape).astype(dtype)
    return rng.uniform(low, high, size=shape).astype(dtype)


def assert_close(out, expected, dtype, rtol=None):
    assert isinstance(out, np.ndarray)
    assert out.dtype == np.dtype(dtype), (out.dtype, dtype)
    expected = np.asarray(expected, dtype="float64")
    assert out.shape == expected.shape
    if rtol is None:
        rtol = {"float16": 2e-3, "float32": 2e-6, "float64": 1e-13}[dtype]
    tiny = {"float16": 1e-4, "float32": 1e-30, "float64": 1e-300}[dtype]
    np.testing.assert_allclose(out.astype("float64"), expected, rtol=rtol, atol=tiny, equal_nan=True)


def _vec(f):
    return np.vectorize(f, otypes=["float64"])


# name, T function, reference on float64 values, domain, rtol for float64
UNARY_FLOAT = [
    ("exp", T.exp, np.exp, (-20, 20), None),
    ("exp2", T.exp2, np.exp2, (-20, 20), None),
    ("expm1", T.expm1, np.expm1, (-3, 3), None),
    ("log", T.log, np.log, (0.01, 100), None),
    ("log2", T.log2, np.log2, (0.01, 100), None),
    ("log10", T.log10, np.log10, (0.01, 100), None),
    ("log1p", T.log1p, np.log1p, (-0.9, 10), None),
    ("sqrt", T.sqrt, np.sqrt, (0, 100), None),
    ("sin", T.sin, np.sin, (-10, 10), None),
    ("cos", T.cos, np.cos, (-10, 10), None),
    ("tan", T.tan, np.tan, (-1.3, 1.3), None),
    ("arcsin", T.arcsin, np.arcsin, (-1, 1), None),
    ("arccos", T.arccos, np.arccos, (-1, 1), None),
    ("arctan", T.arctan, np.arctan, (-10, 10), None),
    ("sinh", T.sinh, np.sinh, (-5, 5), None),
    ("cosh", T.cosh, np.cosh, (-5, 5), None),
    ("tanh", T.tanh, np.tanh, (-5, 5), None),
    ("arcsinh", T.arcsinh, np.arcsinh, (-10, 10), None),
    ("arccosh", T.arccosh, np.arccosh, (1, 10), None),
    ("arctanh", T.arctanh, np.arctanh, (-0.99, 0.99), None),
    ("erf", T.erf, _vec(math.erf), (-4, 4), 1e-15),
    ("erfc", T.erfc, _vec(math.erfc), (-4, 8), 1e-14),
    ("gamma", T.gamma, _vec(math.gamma), (0.1, 8), 1e-14),
    ("gammaln", T.gammaln, _vec(math.lgamma), (0.1, 50), 1e-14),
    ("floor", T.floor, np.floor, (-10, 10), None),
    ("ceil", T.ceil, np.ceil, (-10, 10), None),
    ("trunc", T.trunc, np.trunc, (-10, 10), None),
    ("deg2rad", T.deg2rad, np.deg2rad, (-360, 360), None),
    ("rad2deg", T.rad2deg, np.rad2deg, (-7, 7), None),
    ("inv", T.inv, lambda v: 1.0 / v, (0.5, 10), None),
    ("sigmoid", T.nnet.sigmoid, lambda v: 1.0 / (1.0 + np.exp(-v)), (-30, 30), None),
    ("softplus", T.nnet.softplus, lambda v: np.logaddexp(0.0, v), (-30, 30), None),
]


@pytest.mark.parametrize("name,fn,ref,domain,rtol", UNARY_FLOAT, ids=[u[0] for u in UNARY_FLOAT])
@pytest.mark.parametrize("dtype", FLOATS)
@pytest.mark.parametrize("shape", SHAPES, ids=str)
def test_float_functions_match_the_reference_on_floats(name, fn, ref, domain, rtol, dtype, shape, rng):
    x = var(dtype, len(shape))
    f = th.function([x], fn(x))
    v = random_values(rng, shape, dtype, *domain)
    expected = ref(v.astype("float64"))
    assert_close(f(v), expected, dtype, rtol if dtype == "float64" else None)


@pytest.mark.parametrize("name,fn,ref,domain,rtol", UNARY_FLOAT, ids=[u[0] for u in UNARY_FLOAT])
@pytest.mark.parametrize("dtype", ("bool", "int8", "uint8", "int16", "int32", "uint32", "int64"))
def test_float_functions_of_integers_give_theanos_float_dtype(name, fn, ref, domain, rtol, dtype, rng):
    x = var(dtype, 1)
    out = fn(x)
    assert out.dtype == theano_float(dtype)
    lo, hi = domain
    if dtype == "bool" and not (lo <= 0 and hi >= 1):
        pytest.skip("bool values fall outside the domain")
    v = random_values(rng, (9,), dtype, max(lo, 0 if dtype[0] in "bu" else lo), hi)
    if np.dtype(v.dtype).kind in "iu" and v.size and (v.min() < lo or v.max() > hi):
        pytest.skip("no integers in the domain")
    got = th.function([x], out)(v)
    assert_close(got, ref(v.astype("float64")), theano_float(dtype), rtol=2e-6)


def test_float16_inputs_compute_in_float32_and_stay_float16(rng):
    x = var("float16", 1)
    v = rng.uniform(-3, 3, size=50).astype("float16")
    # NumPy's float16 functions also compute in float32 and round each result.
    three, one = np.float16(3), np.float16(1)
    for fn, ref in [(T.exp, np.exp), (T.tanh, np.tanh), (T.sqr, np.square),
                    (lambda a: a * 3 + 1, lambda a: a * three + one)]:
        out = th.function([x], fn(x))(v)
        assert out.dtype == np.float16
        np.testing.assert_allclose(out.astype("float64"), ref(v).astype("float64"), rtol=1e-3)


NAN_INF = np.array([np.nan, np.inf, -np.inf, 0.0, -0.0, 1e300, -1e300, 1e-300])


@pytest.mark.parametrize("name,fn,ref,domain,rtol", UNARY_FLOAT, ids=[u[0] for u in UNARY_FLOAT])
def test_float_functions_follow_numpy_on_nan_inf_and_extremes(name, fn, ref, domain, rtol):
    x = var("float64", 1)
    f = th.function([x], fn(x))
    v = NAN_INF
    if name in ("gamma", "gammaln"):
        # math.gamma raises at the poles; scipy gives the C library's values
        # (except gammaln(-inf), which C's lgamma makes +inf).
        ref = getattr(pytest.importorskip("scipy.special"), name)
        v = v[v != -np.inf] if name == "gammaln" else v
    with np.errstate(all="ignore"):
        expected = ref(v)
        got = f(v)
    np.testing.assert_allclose(got, expected, rtol=1e-13, equal_nan=True)


def test_erfinv_inverts_erf_and_matches_scipy(rng):
    x = var("float64", 1)
    f = th.function([x], T.erfinv(x))
    y = np.concatenate([rng.uniform(-0.999, 0.999, size=200), [0.0, 0.5, -0.5, 1e-10, 0.9999999]])
    got = f(y)
    back = np.array([math.erf(v) for v in got])
    np.testing.assert_allclose(back, y, rtol=1e-15, atol=1e-16)
    np.testing.assert_array_equal(f(np.array([1.0, -1.0, 1.5, np.nan])), [np.inf, -np.inf, np.nan, np.nan])
    special = pytest.importorskip("scipy.special")
    np.testing.assert_allclose(got, special.erfinv(y), rtol=1e-14)
    xf = var("float32", 1)
    got32 = th.function([xf], T.erfinv(xf))(y.astype("float32"))
    assert got32.dtype == np.float32
    np.testing.assert_allclose(got32, special.erfinv(y.astype("float32").astype("float64")), rtol=2e-6)


def test_softplus_does_not_overflow_at_large_magnitudes():
    x = var("float64", 1)
    v = np.array([-1000.0, -40.0, -1.0, 0.0, 1.0, 40.0, 700.0, 1000.0])
    got = th.function([x], T.nnet.softplus(x))(v)
    np.testing.assert_allclose(got, np.logaddexp(0.0, v), rtol=1e-15)


@pytest.mark.parametrize("dtype", FLOATS)
def test_rounding_modes_differ_only_at_halves(dtype):
    x = var(dtype, 1)
    v = np.array([-2.5, -1.5, -0.5, 0.5, 1.5, 2.5, 2.4, -2.6, 3.7], dtype=dtype)
    even = th.function([x], T.round_half_to_even(x))(v)
    away = th.function([x], T.round_half_away_from_zero(x))(v)
    np.testing.assert_array_equal(even, np.round(v))
    np.testing.assert_array_equal(away, np.sign(v) * np.floor(np.abs(v) + 0.5))
    np.testing.assert_array_equal(th.function([x], T.round(x))(v), np.round(v))
    np.testing.assert_array_equal(th.function([x], T.round(x, "half_away_from_zero"))(v), away)
    np.testing.assert_array_equal(th.function([x], x.round())(v), np.round(v))
    assert even.dtype == away.dtype == np.dtype(dtype)
    ir = th.function([x], T.iround(x))(v)
    assert ir.dtype == np.int64
    np.testing.assert_array_equal(ir, np.round(v).astype("int64"))


def test_round_of_integers_and_unknown_modes_are_refused():
    with pytest.raises(TypeError, match="round_half_to_even only works on float types"):
        T.round(T.ivector())
    with pytest.raises(Exception, match="round mode nearest is not implemented"):
        T.round(T.dvector(), "nearest")


# ---------------------------------------------------------------------------
# integer-preserving unary ops
# ---------------------------------------------------------------------------

@pytest.mark.parametrize("dtype", ("int8", "int16", "int32", "int64", "uint8", "uint32", "float32", "float64"))
def test_abs_neg_sqr_and_sgn_keep_the_dtype(dtype, rng):
    x = var(dtype, 2)
    signed = np.dtype(dtype).kind != "u"
    v = random_values(rng, (4, 5), dtype, -9 if signed else 0, 9)
    f = th.function([x], [abs(x), T.abs_(x), T.abs(x), -x, T.sqr(x), T.sgn(x)])
    outs = f(v)
    expected = [np.abs(v), np.abs(v), np.abs(v), -v, v * v, np.sign(v)]
    for o, e in zip(outs, expected):
        assert o.dtype == np.dtype(dtype)
        np.testing.assert_array_equal(o, e.astype(dtype))


def test_sgn_of_nan_and_zero_follow_numpy():
    x = var("float64", 1)
    v = np.array([np.nan, 0.0, -3.0, 2.0, np.inf, -np.inf])
    np.testing.assert_array_equal(th.function([x], T.sgn(x))(v), np.sign(v))


@pytest.mark.parametrize("build,msg", [
    (lambda b: -b, "neg is not defined for bool"),
    (lambda b: T.sgn(b), "sgn is not defined for bool"),
    (lambda b: b - b, "sub is not defined for bool"),
])
def test_bool_arithmetic_without_meaning_is_a_type_error(build, msg):
    b = T.TensorType("bool", (False,))("b")
    with pytest.raises(TypeError, match=msg):
        build(b)


def test_bool_addition_and_multiplication_are_or_and_and():
    a, b = (T.TensorType("bool", (False,))(n) for n in "ab")
    f = th.function([a, b], [a + b, a * b, T.maximum(a, b), T.minimum(a, b), a ** b])
    x = np.array([False, True, False, True])
    y = np.array([False, False, True, True])
    s, p, mx, mn, pw = f(x, y)
    assert s.dtype == p.dtype == mx.dtype == mn.dtype == np.bool_
    np.testing.assert_array_equal(s, x | y)
    np.testing.assert_array_equal(p, x & y)
    np.testing.assert_array_equal(mx, x | y)
    np.testing.assert_array_equal(mn, x & y)
    assert pw.dtype == np.int8
    np.testing.assert_array_equal(pw, np.power(x.astype("int8"), y.astype("int8")))


# ---------------------------------------------------------------------------
# binary ops with broadcasting
# ---------------------------------------------------------------------------

BROADCAST = [
    ((5,), (5,)),
    ((3, 4), (1, 4)),
    ((3, 1), (1, 4)),
    ((), (2, 3)),
    ((2, 3, 4), (4,)),
    ((0, 4), (1, 4)),
]


def _typed(dtype, shape, name):
    return T.TensorType(dtype, tuple(n == 1 for n in shape))(name)


BINARY = [
    ("maximum", T.maximum, np.maximum),
    ("minimum", T.minimum, np.minimum),
    ("arctan2", T.arctan2, np.arctan2),
    ("pow", lambda a, b: a ** b, np.power),
    ("true_div", lambda a, b: a / b, np.true_divide),
    ("int_div", lambda a, b: a // b, np.floor_divide),
    ("mod", lambda a, b: a % b, np.mod),
]

PAIRS = [("float64", "float64"), ("float32", "float32"), ("int32", "int32"), ("int8", "float32"),
         ("int64", "float64"), ("uint8", "int8"), ("float32", "float64")]


def expected_binary_dtype(name, da, db):
    if name == "arctan2":
        return np.result_type(theano_float(da), theano_float(db)).name
    up = np.result_type(da, db).name
    if name == "true_div" and np.dtype(up).kind in "iub":
        return "float64"
    return up


@pytest.mark.parametrize("name,fn,npfn", BINARY, ids=[b[0] for b in BINARY])
@pytest.mark.parametrize("sa,sb", BROADCAST, ids=str)
@pytest.mark.parametrize("da,db", PAIRS, ids=str)
def test_binary_ops_broadcast_and_upcast_like_theano(name, fn, npfn, sa, sb, da, db, rng):
    a, b = _typed(da, sa, "a"), _typed(db, sb, "b")
    out = fn(a, b)
    want = expected_binary_dtype(name, da, db)
    assert out.dtype == want
    f = th.function([a, b], out)
    av = random_values(rng, sa, da, -6, 6)
    bv = random_values(rng, sb, db, -6, 6)
    if name in ("int_div", "mod", "true_div"):
        bv = np.where(bv == 0, 3, bv).astype(db)
    if name == "pow":
        av = np.abs(av).astype(da) if np.dtype(da).kind != "u" else av
        bv = (np.abs(bv) % 4).astype(db)
    with np.errstate(all="ignore"):
        expected = npfn(av.astype(want), bv.astype(want))
    got = f(av, bv)
    assert got.dtype == np.dtype(want)
    if np.dtype(want).kind == "f":
        assert_close(got, expected, want, rtol=1e-5 if want == "float32" else 1e-12)
    else:
        np.testing.assert_array_equal(got, expected.astype(want))


def test_maximum_and_minimum_propagate_nan_from_either_side():
    a, b = T.dvector("a"), T.dvector("b")
    f = th.function([a, b], [T.maximum(a, b), T.minimum(a, b)])
    x = np.array([np.nan, 1.0, 2.0, np.nan])
    y = np.array([1.0, np.nan, 1.0, np.nan])
    mx, mn = f(x, y)
    np.testing.assert_array_equal(mx, np.maximum(x, y))
    np.testing.assert_array_equal(mn, np.minimum(x, y))


def test_integer_powers_with_negative_exponents_follow_c_pow():
    a, b = T.ivector("a"), T.ivector("b")
    f = th.function([a, b], a ** b)
    x = np.array([1, -1, -1, 2, 5, 0, 3], dtype="int32")
    y = np.array([-3, -3, -2, -1, -2, 3, 4], dtype="int32")
    np.testing.assert_array_equal(f(x, y), [1, -1, 1, 0, 0, 0, 81])


# ---------------------------------------------------------------------------
# comparisons, predicates, bitwise
# ---------------------------------------------------------------------------

@pytest.mark.parametrize("da,db", [("float64", "float64"), ("int32", "float32"), ("int8", "uint8"), ("float32", "int64")])
def test_comparisons_give_bool_for_any_dtypes(da, db, rng):
    a, b = var(da, 2, "a"), _typed(db, (1, 4), "b")
    outs = [T.lt(a, b), T.le(a, b), T.gt(a, b), T.ge(a, b), T.eq(a, b), T.neq(a, b)]
    f = th.function([a, b], outs)
    av = random_values(rng, (3, 4), da, -3, 3)
    bv = random_values(rng, (1, 4), db, -3, 3)
    for got, npfn in zip(f(av, bv), [np.less, np.less_equal, np.greater, np.greater_equal, np.equal, np.not_equal]):
        assert got.dtype == np.bool_
        np.testing.assert_array_equal(got, npfn(av, bv))


@pytest.mark.parametrize("dtype", ("float32", "float64", "int32", "uint8", "bool"))
def test_isnan_and_isinf_are_bool_and_false_for_integers(dtype, rng):
    x = var(dtype, 1)
    f = th.function([x], [T.isnan(x), T.isinf(x)])
    if np.dtype(dtype).kind == "f":
        v = np.array([np.nan, np.inf, -np.inf, 0.0, 1.5], dtype=dtype)
    else:
        v = random_values(rng, (6,), dtype, 0, 5)
    nan, inf = f(v)
    assert nan.dtype == inf.dtype == np.bool_
    np.testing.assert_array_equal(nan, np.isnan(v.astype("float64")))
    np.testing.assert_array_equal(inf, np.isinf(v.astype("float64")))


@pytest.mark.parametrize("dtype", ("bool", "int8", "int32", "uint16", "int64"))
def test_bitwise_operators_match_numpy(dtype, rng):
    a, b = var(dtype, 1, "a"), var(dtype, 1, "b")
    f = th.function([a, b], [a & b, a | b, a ^ b, ~a, T.and_(a, b), T.or_(a, b), T.xor(a, b), T.invert(a),
                             T.bitwise_and(a, b), T.bitwise_not(a)])
    av = random_values(rng, (20,), dtype, -50, 50)
    bv = random_values(rng, (20,), dtype, -50, 50)
    expected = [av & bv, av | bv, av ^ bv, ~av, av & bv, av | bv, av ^ bv, ~av, av & bv, ~av]
    for got, e in zip(f(av, bv), expected):
        assert got.dtype == np.dtype(dtype)
        np.testing.assert_array_equal(got, e)


def test_bitwise_ops_refuse_floats():
    with pytest.raises(TypeError, match="and_ is defined for bool and integer dtypes only"):
        T.dvector() & T.dvector()
    with pytest.raises(TypeError, match="invert is defined for bool and integer dtypes only"):
        ~T.fvector()


# ---------------------------------------------------------------------------
# ternary: clip and switch
# ---------------------------------------------------------------------------

@pytest.mark.parametrize("dtype", ("float64", "float32", "int32", "int8"))
def test_clip_with_scalar_and_broadcast_bounds(dtype, rng):
    x = var(dtype, 2)
    lo, hi = _typed(dtype, (1, 5), "lo"), _typed(dtype, (1, 5), "hi")
    v = random_values(rng, (4, 5), dtype, -20, 20)
    lov = random_values(rng, (1, 5), dtype, -10, 0)
    hiv = random_values(rng, (1, 5), dtype, 1, 10)
    got = th.function([x, lo, hi], T.clip(x, lo, hi))(v, lov, hiv)
    assert got.dtype == np.dtype(dtype)
    np.testing.assert_array_equal(got, np.clip(v, lov, hiv))
    got = th.function([x], x.clip(-3, 4))(v)
    assert got.dtype == np.dtype(dtype)
    np.testing.assert_array_equal(got, np.clip(v, -3, 4))


def test_clip_upcasts_and_keeps_nan():
    x = T.ivector("x")
    assert T.clip(x, 0.5, 2.5).dtype == "float64"
    f = T.fvector("f")
    assert T.clip(f, 0, 1).dtype == "float32"
    v = np.array([np.nan, -1.0, 0.5, 3.0], dtype="float32")
    np.testing.assert_array_equal(th.function([f], T.clip(f, 0, 1))(v), np.array([np.nan, 0, 0.5, 1], dtype="float32"))


@pytest.mark.parametrize("cond_dtype", ("bool", "int8", "float64"))
def test_switch_picks_elementwise_and_upcasts_the_branches(cond_dtype, rng):
    c = _typed(cond_dtype, (3, 1), "c")
    a = T.fmatrix("a")
    b = T.ivector("b")
    out = T.switch(c, a, b)
    assert out.dtype == "float64"
    cv = random_values(rng, (3, 1), cond_dtype, 0, 2)
    av = random_values(rng, (3, 4), "float32", -5, 5)
    bv = random_values(rng, (4,), "int32", -5, 5)
    got = th.function([c, a, b], out)(cv, av, bv)
    np.testing.assert_array_equal(got, np.where(cv != 0, av.astype("float64"), bv))
    np.testing.assert_array_equal(th.function([c, a, b], T.where(c, a, b))(cv, av, bv), got)


# ---------------------------------------------------------------------------
# compositions: isclose/allclose, relu, hard/ultra fast sigmoid, methods
# ---------------------------------------------------------------------------

@pytest.mark.parametrize("equal_nan", (False, True))
def test_isclose_and_allclose_follow_numpy(equal_nan):
    a, b = T.dvector("a"), T.dvector("b")
    x = np.array([1.0, 1.0 + 1e-9, 1.0, np.nan, np.inf, np.inf, -np.inf, 0.0, np.nan])
    y = np.array([1.0, 1.0, 1.1, np.nan, np.inf, -np.inf, -np.inf, 1e-9, 1.0])
    got = th.function([a, b], T.isclose(a, b, equal_nan=equal_nan))(x, y)
    assert got.dtype == np.bool_
    np.testing.assert_array_equal(got, np.isclose(x, y, equal_nan=equal_nan))
    allc = th.function([a, b], T.allclose(a, b, equal_nan=equal_nan))
    assert bool(allc(x, y)) == np.allclose(x, y, equal_nan=equal_nan)
    assert bool(allc(x[:3], x[:3] + 1e-12))
    assert bool(allc(x[:0], y[:0]))


@pytest.mark.parametrize("dtype", FLOATS)
def test_relu_and_the_sigmoid_approximations(dtype, rng):
    x = var(dtype, 1)
    v = random_values(rng, (200,), dtype, -8, 8)
    alpha = np.dtype(dtype).type(0.1)
    relu, leaky, hard, fast = th.function(
        [x], [T.nnet.relu(x), T.nnet.relu(x, alpha), T.nnet.hard_sigmoid(x), T.nnet.ultra_fast_sigmoid(x)])(v)
    # As in Theano, a Python float alpha is a float64 constant (0.1 is not exact in float32).
    assert T.nnet.relu(x, 0.1).dtype == "float64"
    for o in (relu, leaky, hard, fast):
        assert o.dtype == np.dtype(dtype)
    np.testing.assert_allclose(relu, np.maximum(v, 0), rtol=1e-6)
    np.testing.assert_allclose(leaky, np.where(v > 0, v, 0.1 * v), rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(hard, np.clip(0.2 * v.astype("float64") + 0.5, 0, 1), rtol=1e-6, atol=1e-7)
    assert np.max(np.abs(fast - 1 / (1 + np.exp(-v.astype("float64"))))) < 0.03


def test_divmod_and_methods_on_variables(rng):
    a, b = T.lvector("a"), T.lvector("b")
    q, r = divmod(a, b)
    av = random_values(rng, (30,), "int64", -50, 50)
    bv = random_values(rng, (30,), "int64", 1, 9) * np.where(rng.rand(30) > 0.5, 1, -1)
    gq, gr = th.function([a, b], [q, r])(av, bv)
    np.testing.assert_array_equal(gq, av // bv)
    np.testing.assert_array_equal(gr, av % bv)
    q2, r2 = divmod(7, a)
    g2 = th.function([a], [q2, r2])(np.array([2, -3, 5]))
    np.testing.assert_array_equal(g2[0], 7 // np.array([2, -3, 5]))
    np.testing.assert_array_equal(g2[1], 7 % np.array([2, -3, 5]))


# ---------------------------------------------------------------------------
# layouts and sizes
# ---------------------------------------------------------------------------

def test_strided_views_as_inputs_give_numpy_results(rng):
    m = T.dmatrix("m")
    v = T.fvector("v")
    out = T.exp(m.T) * v + T.arctan2(m.T, v)
    f = th.function([m, v], out)
    mv = rng.uniform(-2, 2, size=(6, 4))
    vv = rng.uniform(-2, 2, size=(6,)).astype("float32")
    expected = np.exp(mv.T) * vv + np.arctan2(mv.T, vv)
    np.testing.assert_allclose(f(mv, vv), expected, rtol=1e-12)
    # non-contiguous NumPy arrays passed in
    big = rng.uniform(-2, 2, size=(8, 12))
    np.testing.assert_allclose(th.function([m], T.sin(m))(big[::2, ::3]), np.sin(big[::2, ::3]), rtol=1e-13)
    np.testing.assert_allclose(th.function([m], T.sin(m))(big.T), np.sin(big.T), rtol=1e-13)


@pytest.mark.parametrize("dtype", FLOATS)
def test_large_arrays_run_in_parallel_chunks_with_the_same_values(dtype, rng):
    x = var(dtype, 1)
    y = var(dtype, 2, "y")
    n = 200_003
    v = rng.uniform(-3, 3, size=n).astype(dtype)
    np.testing.assert_array_equal(th.function([x], T.exp(x))(v), th.function([x], T.exp(x), mode="FAST_COMPILE")(v))
    assert_close(th.function([x], T.exp(x))(v), np.exp(v.astype("float64")), dtype)
    w = rng.uniform(-3, 3, size=(700, 301)).astype(dtype)
    # each op rounds to the dtype, as NumPy's do
    np.testing.assert_allclose(th.function([y], T.tanh(y.T) + 1)(w), np.tanh(w.T) + w.dtype.type(1),
                               rtol=2e-6 if dtype == "float32" else 1e-13, atol=1e-7 if dtype == "float32" else 0)
    iv = rng.randint(-100, 100, size=n).astype("int32")
    xi = var("int32", 1)
    np.testing.assert_array_equal(th.function([xi], xi * 3 - 7)(iv), iv * 3 - 7)


def test_empty_arrays_give_empty_results_of_the_right_dtype():
    x = T.TensorType("int16", (False, False))("x")
    f = th.function([x], [T.exp(x), x + 1, T.isnan(x), T.clip(x, 0, 1)])
    outs = f(np.zeros((0, 3), dtype="int16"))
    assert [o.shape for o in outs] == [(0, 3)] * 4
    assert [o.dtype.name for o in outs] == ["float32", "int16", "bool", "int16"]


# ---------------------------------------------------------------------------
# names
# ---------------------------------------------------------------------------

@pytest.mark.parametrize("build,name", [
    (T.exp2, "Elemwise{exp2,no_inplace}"),
    (T.log1p, "Elemwise{log1p,no_inplace}"),
    (T.abs_, "Elemwise{abs_,no_inplace}"),
    (T.round_half_to_even, "Elemwise{round_half_to_even,no_inplace}"),
    (T.arctanh, "Elemwise{arctanh,no_inplace}"),
    (T.erfinv, "Elemwise{erfinv,no_inplace}"),
    (T.gammaln, "Elemwise{gammaln,no_inplace}"),
    (T.isnan, "Elemwise{isnan,no_inplace}"),
    (T.inv, "Elemwise{inv,no_inplace}"),
    (T.nnet.softplus, "softplus"),
    (T.nnet.sigmoid, "sigmoid"),
    (lambda x: T.clip(x, 0, 1), "Elemwise{clip,no_inplace}"),
    (lambda x: T.arctan2(x, x), "Elemwise{arctan2,no_inplace}"),
])
def test_debugprint_shows_theanos_op_names(build, name):
    x = T.dvector("x")
    text = th.printing.debugprint(build(x), file="str")
    assert text.splitlines()[0].startswith(name + " [id A]")


def test_python_names_are_the_theano_functions():
    for name in ["exp", "exp2", "expm1", "log", "log2", "log10", "log1p", "sqrt", "sqr", "abs_", "abs", "sgn",
                 "floor", "ceil", "round", "round_half_to_even", "round_half_away_from_zero", "iround", "trunc",
                 "sin", "cos", "tan", "arcsin", "arccos", "arctan", "arctan2", "sinh", "cosh", "tanh", "arcsinh",
                 "arccosh", "arctanh", "erf", "erfc", "erfinv", "gamma", "gammaln", "clip", "maximum", "minimum",
                 "switch", "where", "and_", "or_", "xor", "invert", "bitwise_and", "bitwise_or", "bitwise_xor",
                 "bitwise_not", "isnan", "isinf", "isclose", "allclose", "inv", "reciprocal", "neg",
                 "deg2rad", "rad2deg"]:
        assert callable(getattr(T, name)), name
    for name in ["sigmoid", "softplus", "relu", "hard_sigmoid", "ultra_fast_sigmoid"]:
        assert callable(getattr(T.nnet, name)), name
