"""Reverse-mode gradients (SPEC §6): every op's gradient against finite
differences (`verify_grad`), exact values against hand-derived NumPy
gradients, the options of `T.grad`, its errors, and a model trained with
the gradients."""
import warnings

import numpy as np
import pytest

import rtensor as th
from rtensor import gradient

T = th.tensor


def _rand(rng, *shape, low=-2.0, high=2.0, dtype="float64"):
    return np.asarray(rng.uniform(low, high, size=shape), dtype=dtype)


def _positive(rng, *shape, dtype="float64"):
    return np.asarray(rng.uniform(0.5, 2.0, size=shape), dtype=dtype)


def _away_from_zero(rng, *shape):
    v = rng.uniform(0.3, 2.0, size=shape) * rng.choice([-1.0, 1.0], size=shape)
    return np.asarray(v)


# ---------------------------------------------------------------------------
# elementwise ops against finite differences
# ---------------------------------------------------------------------------

UNARY = [
    ("neg", lambda x: -x, _rand),
    ("abs", abs, _away_from_zero),
    ("sqr", T.sqr, _rand),
    ("sqrt", T.sqrt, _positive),
    ("exp", T.exp, _rand),
    ("log", T.log, _positive),
    ("sin", T.sin, _rand),
    ("cos", T.cos, _rand),
    ("tanh", T.tanh, _rand),
    ("sigmoid", T.nnet.sigmoid, _rand),
]


@pytest.mark.parametrize("name,fn,sample", UNARY, ids=[u[0] for u in UNARY])
@pytest.mark.parametrize("shape", [(), (5,), (3, 4)])
def test_unary_elementwise_gradients_match_finite_differences(name, fn, sample, shape, rng):
    gradient.verify_grad(fn, [sample(rng, *shape)], rng=rng)


BINARY = [
    ("add", lambda a, b: a + b, _rand, _rand),
    ("sub", lambda a, b: a - b, _rand, _rand),
    ("mul", lambda a, b: a * b, _rand, _rand),
    ("true_div", lambda a, b: a / b, _rand, _away_from_zero),
    ("pow", lambda a, b: a ** b, _positive, _rand),
    ("maximum", T.maximum, _rand, _rand),
    ("minimum", T.minimum, _rand, _rand),
]

BROADCAST_SHAPES = [((3, 4), (3, 4)), ((3, 4), (1, 4)), ((3, 1), (1, 4)), ((), (2, 3)), ((2, 3, 4), (4,))]


@pytest.mark.parametrize("name,fn,sa,sb", BINARY, ids=[b[0] for b in BINARY])
@pytest.mark.parametrize("shape_a,shape_b", BROADCAST_SHAPES)
def test_binary_elementwise_gradients_sum_over_broadcast_axes(name, fn, sa, sb, shape_a, shape_b, rng):
    gradient.verify_grad(fn, [sa(rng, *shape_a), sb(rng, *shape_b)], rng=rng)


def test_the_gradient_of_a_broadcast_row_is_a_row_of_column_sums(rng):
    x = T.matrix("x")
    r = T.row("r")
    g = T.grad((x * r).sum(), r)
    assert tuple(g.broadcastable) == (True, False)
    xv = _rand(rng, 3, 4)
    rv = _rand(rng, 1, 4)
    np.testing.assert_allclose(th.function([x, r], g)(xv, rv), xv.sum(axis=0, keepdims=True))


def test_modulo_gradient_follows_x_minus_y_floor_x_over_y(rng):
    x = T.vector("x")
    y = T.vector("y")
    gx, gy = T.grad((x % y).sum(), [x, y])
    xv = np.array([5.5, -3.25, 7.0])
    yv = np.array([2.0, 1.5, -3.0])
    f = th.function([x, y], [gx, gy])
    a, b = f(xv, yv)
    np.testing.assert_allclose(a, np.ones(3))
    np.testing.assert_allclose(b, -np.floor(xv / yv))


def test_switch_routes_the_gradient_to_the_chosen_branch(rng):
    c = T.vector("c")
    a = T.vector("a")
    b = T.vector("b")
    ga, gb, gc = T.grad((T.switch(c > 0, a, b) * 3.0).sum(), [a, b, c])
    cv = np.array([1.0, -1.0, 2.0, -0.5])
    f = th.function([c, a, b], [ga, gb, gc])
    ra, rb, rc = f(cv, _rand(rng, 4), _rand(rng, 4))
    np.testing.assert_allclose(ra, 3.0 * (cv > 0))
    np.testing.assert_allclose(rb, 3.0 * (cv <= 0))
    np.testing.assert_allclose(rc, np.zeros(4))


def test_switch_gradient_matches_finite_differences(rng):
    gradient.verify_grad(lambda a, b: T.switch(a > b, a * b, a - b), [_rand(rng, 3, 4), _rand(rng, 3, 4)], rng=rng)


def test_comparisons_and_integer_division_have_zero_gradients(rng):
    x = T.vector("x")
    cost = T.cast(T.lt(x, 0.5), "float64").sum() + (x // 1.0).sum()
    g = th.function([x], T.grad(cost, x))(_rand(rng, 5))
    np.testing.assert_array_equal(g, np.zeros(5))


def test_a_cast_to_an_integer_has_a_zero_gradient(rng):
    x = T.vector("x")
    g = T.grad(T.cast(x * 3.0, "int32").sum() * 1.0, x)
    np.testing.assert_array_equal(th.function([x], g)(_rand(rng, 4)), np.zeros(4))


def test_a_cast_between_floats_passes_the_gradient_in_the_input_dtype(rng):
    x = T.fvector("x")
    cost = (T.cast(x, "float64") ** 2).sum()
    g = T.grad(cost, x)
    assert g.dtype == "float32"
    xv = _rand(rng, 4, dtype="float32")
    np.testing.assert_allclose(th.function([x], g)(xv), 2 * xv, rtol=1e-6)


@pytest.mark.parametrize("dtype", ["float32", "float64"])
def test_float32_gradients_stay_float32(dtype, rng):
    x = T.vector("x", dtype=dtype)
    W = T.matrix("W", dtype=dtype)
    cost = T.tanh(T.dot(W, x)).sum() + (x ** 2).mean()
    gx, gW = T.grad(cost, [x, W])
    assert gx.dtype == dtype and gW.dtype == dtype
    out = th.function([x, W], [gx, gW])(_rand(rng, 3, dtype=dtype), _rand(rng, 2, 3, dtype=dtype))
    assert out[0].dtype == dtype and out[1].dtype == dtype


def test_float32_elementwise_gradients_match_finite_differences(rng):
    gradient.verify_grad(lambda a, b: T.tanh(a * b) + T.exp(a), [_rand(rng, 3, 4, dtype="float32"),
                                                               _rand(rng, 4, dtype="float32")], rng=rng)


# ---------------------------------------------------------------------------
# exact values against hand-derived NumPy gradients
# ---------------------------------------------------------------------------


def test_the_gradient_of_a_sum_of_squares_is_twice_x(rng):
    x = T.matrix("x")
    xv = _rand(rng, 3, 4)
    g = th.function([x], T.grad((x ** 2).sum(), x))(xv)
    np.testing.assert_allclose(g, 2 * xv)


def test_gradients_add_up_over_every_path(rng):
    x = T.vector("x")
    y = x * 2.0
    cost = (x * y + T.exp(x) + y).sum()
    xv = _rand(rng, 5)
    g = th.function([x], T.grad(cost, x))(xv)
    np.testing.assert_allclose(g, 4 * xv + np.exp(xv) + 2)


def test_the_gradient_of_a_squared_error_model_matches_numpy(rng):
    X = T.matrix("X")
    y = T.vector("y")
    w = T.vector("w")
    b = T.scalar("b")
    err = T.dot(X, w) + b - y
    cost = (err ** 2).mean()
    gw, gb = T.grad(cost, [w, b])
    Xv, yv, wv, bv = _rand(rng, 6, 3), _rand(rng, 6), _rand(rng, 3), np.array(0.3)
    r = Xv.dot(wv) + bv - yv
    out = th.function([X, y, w, b], [gw, gb])(Xv, yv, wv, bv)
    np.testing.assert_allclose(out[0], 2 * Xv.T.dot(r) / 6)
    np.testing.assert_allclose(out[1], 2 * r.sum() / 6)


def test_the_gradient_of_softmax_free_logistic_regression_matches_numpy(rng):
    X = T.matrix("X")
    y = T.vector("y")
    w = T.vector("w")
    p = T.nnet.sigmoid(T.dot(X, w))
    cost = -(y * T.log(p) + (1 - y) * T.log(1 - p)).mean()
    Xv, wv = _rand(rng, 8, 3), _rand(rng, 3)
    yv = (rng.rand(8) > 0.5).astype("float64")
    pv = 1 / (1 + np.exp(-Xv.dot(wv)))
    g = th.function([X, y, w], T.grad(cost, w))(Xv, yv, wv)
    np.testing.assert_allclose(g, Xv.T.dot(pv - yv) / 8, rtol=1e-10)


# ---------------------------------------------------------------------------
# structural ops, products and reductions
# ---------------------------------------------------------------------------


@pytest.mark.parametrize("sa,sb", [((4,), (4,)), ((3, 4), (4,)), ((4,), (4, 2)), ((3, 4), (4, 2))])
def test_dot_gradients_match_finite_differences(sa, sb, rng):
    gradient.verify_grad(T.dot, [_rand(rng, *sa), _rand(rng, *sb)], rng=rng)


def test_the_gradients_of_a_matrix_product_are_products_with_transposes(rng):
    a = T.matrix("a")
    b = T.matrix("b")
    ga, gb = T.grad(T.dot(a, b).sum(), [a, b])
    av, bv = _rand(rng, 3, 4), _rand(rng, 4, 2)
    ra, rb = th.function([a, b], [ga, gb])(av, bv)
    np.testing.assert_allclose(ra, np.ones((3, 2)).dot(bv.T))
    np.testing.assert_allclose(rb, av.T.dot(np.ones((3, 2))))


@pytest.mark.parametrize("axis", [None, 0, 1, -1, (0, 2)])
@pytest.mark.parametrize("kind", ["sum", "mean", "max", "min", "prod"])
def test_reduction_gradients_match_finite_differences(kind, axis, rng):
    shape = (2, 3, 4) if axis == (0, 2) else (3, 4)
    v = _away_from_zero(rng, *shape)
    gradient.verify_grad(lambda x: getattr(T, kind)(x, axis=axis), [v], rng=rng)


@pytest.mark.parametrize("keepdims", [False, True])
def test_reductions_with_keepdims_have_gradients(keepdims, rng):
    gradient.verify_grad(lambda x: T.sum(x, axis=1, keepdims=keepdims) * T.mean(x, axis=0, keepdims=keepdims).sum(),
                         [_rand(rng, 3, 4)], rng=rng)


def test_the_gradient_of_a_mean_divides_by_the_count(rng):
    x = T.tensor3("x")
    g = T.grad(x.mean(axis=[0, 2]).sum(), x)
    np.testing.assert_allclose(th.function([x], g)(_rand(rng, 2, 3, 5)), np.full((2, 3, 5), 1 / 10))


def test_max_gradient_goes_to_every_maximal_element(rng):
    x = T.vector("x")
    g = T.grad(T.max(x), x)
    np.testing.assert_array_equal(th.function([x], g)(np.array([1.0, 3.0, 3.0, -2.0])), [0, 1, 1, 0])


def test_product_gradient_handles_zeros(rng):
    x = T.matrix("x")
    g = th.function([x], T.grad(T.prod(x, axis=1).sum(), x))
    xv = np.array([[2.0, 3.0, 4.0], [2.0, 0.0, 5.0], [0.0, 0.0, 7.0]])
    expected = np.array([[12.0, 8.0, 6.0], [0.0, 10.0, 0.0], [0.0, 0.0, 0.0]])
    np.testing.assert_allclose(g(xv), expected)


def test_reductions_of_integers_pass_no_gradient_but_means_do(rng):
    iv = T.ivector("iv")
    assert T.grad(iv.sum() * 1.0, iv, disconnected_inputs="ignore").dtype == "float64"
    g = th.function([iv], T.grad(iv.mean(), iv))(np.array([1, 2, 3, 4], dtype="int32"))
    np.testing.assert_allclose(g, np.full(4, 0.25))


@pytest.mark.parametrize("pattern", [("x", 0, 1), (1, 0), (0, "x", 1), (1, "x", 0, "x")])
def test_dimshuffle_gradients_match_finite_differences(pattern, rng):
    gradient.verify_grad(lambda x: x.dimshuffle(*pattern) * 2.0, [_rand(rng, 3, 4)], rng=rng)


def test_dimshuffle_dropping_a_broadcastable_axis_has_a_gradient(rng):
    r = T.row("r")
    g = T.grad((r.dimshuffle(1) ** 2).sum(), r)
    assert tuple(g.broadcastable) == (True, False)
    rv = _rand(rng, 1, 5)
    np.testing.assert_allclose(th.function([r], g)(rv), 2 * rv)


def test_reshape_and_flatten_gradients_match_finite_differences(rng):
    gradient.verify_grad(lambda x: T.reshape(x, (4, 3)) ** 2, [_rand(rng, 3, 4)], rng=rng)
    gradient.verify_grad(lambda x: x.reshape((2, -1)).sum(axis=0) ** 2, [_rand(rng, 3, 4)], rng=rng)
    gradient.verify_grad(lambda x: T.flatten(x) ** 3, [_rand(rng, 2, 3, 2)], rng=rng)
    gradient.verify_grad(lambda x: x.flatten(2) ** 2, [_rand(rng, 2, 3, 2)], rng=rng)


@pytest.mark.parametrize("index", [
    (slice(1, 3),), (0,), (-1,), (slice(None, None, 2), 1), (slice(None), slice(3, 0, -1)), (1, slice(-2, None)),
])
def test_basic_indexing_gradients_match_finite_differences(index, rng):
    gradient.verify_grad(lambda x: x[index] ** 2, [_rand(rng, 4, 5)], rng=rng)


def test_the_gradient_of_a_slice_is_zero_outside_it(rng):
    x = T.matrix("x")
    g = th.function([x], T.grad(x[1:3, ::2].sum(), x))(_rand(rng, 4, 5))
    expected = np.zeros((4, 5))
    expected[1:3, ::2] = 1
    np.testing.assert_array_equal(g, expected)


def test_symbolic_slice_bounds_are_disconnected_from_the_cost(rng):
    x = T.vector("x")
    i = T.lscalar("i")
    gx = T.grad(x[i:].sum(), x)
    np.testing.assert_array_equal(th.function([x, i], gx)(np.arange(5.0), 2), [0, 0, 1, 1, 1])
    with pytest.raises(gradient.DisconnectedInputError):
        T.grad(x[i:].sum(), i)


def test_gradients_through_none_axes_and_ellipsis(rng):
    gradient.verify_grad(lambda x: x[None, 1:] * x[..., 0][:, None, None], [_rand(rng, 3, 4)], rng=rng)


def test_make_vector_gradient_picks_each_entry(rng):
    a = T.scalar("a")
    b = T.scalar("b")
    v = th.graph.wrap(th._core.make_vector([a, b], "float64"))
    ga, gb = T.grad((v * np.array([2.0, 3.0])).sum() * a, [a, b])
    ra, rb = th.function([a, b], [ga, gb])(1.5, -0.5)
    assert float(ra) == 2 * 1.5 + (2 * 1.5 + 3 * -0.5)
    assert float(rb) == 3 * 1.5


def test_a_symbolic_reshape_shape_is_disconnected_but_the_data_is_not(rng):
    x = T.vector("x")
    n = T.lscalar("n")
    g = T.grad((T.reshape(x, [n, 2]) ** 2).sum(), x)
    xv = _rand(rng, 4)
    np.testing.assert_allclose(th.function([x, n], g)(xv, 2), 2 * xv)
    with pytest.raises(gradient.DisconnectedInputError):
        T.grad(T.cast(x.shape[0], "float64"), x)


# ---------------------------------------------------------------------------
# indexing ops
# ---------------------------------------------------------------------------


def test_gather_gradients_accumulate_over_repeated_rows(rng):
    W = T.matrix("W")
    idx = T.lvector("idx")
    g = T.grad((W[idx] * 2.0).sum(), W)
    out = th.function([W, idx], g)(_rand(rng, 4, 3), np.array([0, 2, 0, -1]))
    expected = np.zeros((4, 3))
    np.add.at(expected, [0, 2, 0, 3], 2.0)
    np.testing.assert_allclose(out, expected)


@pytest.mark.parametrize("index", [
    lambda x: x[[2, 0, 2]],
    lambda x: x[:, [3, 1]],
    lambda x: x[np.array([[0, 1], [2, 0]])],
    lambda x: x[[0, 2, 1], [1, 0, 3]],
    lambda x: x[[1, 2], 1:3],
    lambda x: x[1:, [0, -1]],
    lambda x: x[x > 0.1],
])
def test_advanced_indexing_gradients_match_finite_differences(index, rng):
    gradient.verify_grad(lambda x: index(x) ** 2, [_rand(rng, 3, 4)], rng=rng)


def test_the_negative_log_likelihood_gradient_is_minus_one_over_p_at_the_labels(rng):
    p = T.matrix("p")
    y = T.ivector("y")
    nll = -T.mean(T.log(p)[np.arange(5), y])
    pv = _positive(rng, 5, 3)
    yv = np.array([0, 2, 1, 1, 0], dtype="int32")
    g = th.function([p, y], T.grad(nll, p))(pv, yv)
    expected = np.zeros((5, 3))
    expected[np.arange(5), yv] = -1 / (5 * pv[np.arange(5), yv])
    np.testing.assert_allclose(g, expected)


@pytest.mark.parametrize("set_instead_of_inc", [False, True])
def test_inc_and_set_subtensor_gradients_match_finite_differences(set_instead_of_inc, rng):
    op = T.set_subtensor if set_instead_of_inc else T.inc_subtensor
    gradient.verify_grad(lambda x, y: op(x[1:3], y) ** 2, [_rand(rng, 4, 3), _rand(rng, 2, 3)], rng=rng)
    gradient.verify_grad(lambda x, y: op(x[1:3, 0], y) ** 2, [_rand(rng, 4, 3), _rand(rng, 1)], rng=rng)
    gradient.verify_grad(lambda x, y: op(x[[0, 3]], y) ** 2, [_rand(rng, 4, 3), _rand(rng, 2, 3)], rng=rng)
    gradient.verify_grad(lambda x, y: op(x[[0, 2], [1, 2]], y) ** 2, [_rand(rng, 4, 3), _rand(rng, 2)], rng=rng)


def test_a_set_value_hides_the_gradient_of_what_it_overwrites(rng):
    x = T.vector("x")
    y = T.scalar("y")
    gx, gy = T.grad((T.set_subtensor(x[1:3], y) * np.arange(1.0, 5.0)).sum(), [x, y])
    rx, ry = th.function([x, y], [gx, gy])(_rand(rng, 4), 0.5)
    np.testing.assert_array_equal(rx, [1, 0, 0, 4])
    assert float(ry) == 2 + 3


# ---------------------------------------------------------------------------
# the options of grad
# ---------------------------------------------------------------------------


def test_wrt_keeps_its_form_variable_list_or_tuple():
    x = T.scalar("x")
    y = T.scalar("y")
    cost = x * y
    assert isinstance(T.grad(cost, x), th.Variable)
    assert isinstance(T.grad(cost, [x, y]), list)
    assert isinstance(T.grad(cost, (x, y)), tuple)
    assert th.grad is gradient.grad and T.grad is gradient.grad


def test_wrt_must_be_variables():
    x = T.scalar("x")
    with pytest.raises(TypeError, match="Expected Variable, got 3"):
        T.grad(x * 2, 3)
    with pytest.raises(TypeError, match="wrt must not be a set"):
        T.grad(x * 2, {x})


def test_the_cost_must_be_a_scalar():
    x = T.vector("x")
    with pytest.raises(TypeError, match="cost must be a scalar"):
        T.grad(x * 2, x)
    with pytest.raises(AssertionError, match="can't both be None"):
        T.grad(None, x)


def test_gradients_are_named_after_the_cost_and_the_variable():
    x = T.vector("x")
    cost = (x ** 2).sum()
    cost.name = "cost"
    assert T.grad(cost, x).name == "(dcost/dx)"
    assert T.grad(cost, x, add_names=False).name is None


def test_a_disconnected_input_raises_by_default():
    x = T.scalar("x")
    y = T.scalar("y")
    with pytest.raises(gradient.DisconnectedInputError, match="not part of the computational graph"):
        T.grad(x * 2, y)
    assert issubclass(gradient.DisconnectedInputError, ValueError)


def test_a_disconnected_input_warns_or_is_ignored_and_gets_zeros():
    x = T.scalar("x")
    y = T.vector("y")
    with pytest.warns(UserWarning, match="not part of the computational graph"):
        g = T.grad(x * 2, y, disconnected_inputs="warn")
    np.testing.assert_array_equal(g.eval({y: np.ones(3)}), np.zeros(3))
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        g = T.grad(x * 2, y, disconnected_inputs="ignore")
    assert g.dtype == "float64"
    with pytest.raises(ValueError, match="disconnected_inputs"):
        T.grad(x * 2, y, disconnected_inputs="loud")


def test_return_disconnected_chooses_zeros_none_or_a_disconnected_variable():
    x = T.scalar("x")
    y = T.scalar("y")
    iv = T.ivector("iv")
    zero = T.grad(x * 2, iv, disconnected_inputs="ignore")
    assert zero.dtype == "float64" and zero.ndim == 1
    assert T.grad(x * 2, [x, y], disconnected_inputs="ignore", return_disconnected="None")[1] is None
    d = T.grad(x * 2, y, disconnected_inputs="ignore", return_disconnected="Disconnected")
    assert isinstance(d.type, gradient.DisconnectedType)


def test_consider_constant_stops_the_gradient():
    x = T.scalar("x")
    y = x * 3.0
    cost = y * x
    g = T.grad(cost, x, consider_constant=[y])
    assert float(g.eval({x: 2.0})) == 6.0
    assert float(T.grad(cost, x).eval({x: 2.0})) == 12.0
    with pytest.raises(TypeError, match="Elements of consider_constant must be variables"):
        T.grad(cost, x, consider_constant=[3])


def test_zero_grad_and_disconnected_grad_stop_the_gradient_inline():
    x = T.scalar("x")
    g = T.grad(x * gradient.zero_grad(x ** 2), x)
    assert float(g.eval({x: 3.0})) == 9.0
    g = T.grad(x * gradient.disconnected_grad(x ** 2), x)
    assert float(g.eval({x: 3.0})) == 9.0
    assert float(gradient.zero_grad(x * 2).eval({x: 3.0})) == 6.0
    with pytest.raises(gradient.DisconnectedInputError):
        T.grad(gradient.disconnected_grad(x) * 2, x)
    zg = T.grad(gradient.zero_grad(x) * 2, x)
    assert float(zg.eval({x: 3.0})) == 0.0


def test_known_grads_start_back_propagation_from_an_intermediate_variable(rng):
    x = T.vector("x")
    h = T.tanh(x)
    gh = T.vector("gh")
    g = T.grad(None, x, known_grads={h: gh})
    xv, ghv = _rand(rng, 4), _rand(rng, 4)
    np.testing.assert_allclose(th.function([x, gh], g)(xv, ghv), ghv * (1 - np.tanh(xv) ** 2))
    with pytest.raises(TypeError, match="continuous"):
        T.grad(None, x, known_grads={h: T.ivector()})


def test_known_grads_add_to_the_gradient_of_the_cost(rng):
    x = T.vector("x")
    h = x * 2.0
    cost = (x ** 2).sum()
    g = T.grad(cost, x, known_grads={h: T.fill(h, 1.0)})
    xv = _rand(rng, 3)
    np.testing.assert_allclose(th.function([x], g)(xv), 2 * xv + 2)


def test_an_undefined_gradient_raises_null_type_grad_error():
    x = T.vector("x")
    h = x * 2.0
    with pytest.raises(gradient.NullTypeGradError, match="tensor.grad encountered a NaN. because"):
        T.grad(None, x, known_grads={h: gradient.NullType("because")()})
    g = T.grad(None, x, known_grads={h: gradient.NullType("because")()}, null_gradients="return")
    assert isinstance(g.type, gradient.NullType) and g.type.why_null == "because"
    assert issubclass(gradient.NullTypeGradError, TypeError)


def test_integer_wrt_gets_a_real_valued_gradient():
    iv = T.ivector("iv")
    g = T.grad((iv * 1.5).sum(), iv)
    assert g.dtype == "float64"
    np.testing.assert_allclose(g.eval({iv: np.array([1, 2], dtype="int32")}), [1.5, 1.5])


def test_shared_and_intermediate_variables_can_be_differentiated(rng):
    W = th.shared(_rand(rng, 3, 2), name="W")
    x = T.vector("x")
    h = T.dot(x, W)
    cost = (h ** 2).sum()
    gW, gh = T.grad(cost, [W, h])
    xv = _rand(rng, 3)
    rW, rh = th.function([x], [gW, gh])(xv)
    hv = xv.dot(W.get_value())
    np.testing.assert_allclose(rh, 2 * hv)
    np.testing.assert_allclose(rW, np.outer(xv, 2 * hv))


def test_lop_left_multiplies_the_jacobian(rng):
    x = T.vector("x")
    W = T.matrix("W")
    v = T.vector("v")
    y = T.dot(W, x)
    gx = T.Lop(y, x, v)
    Wv, xv, vv = _rand(rng, 2, 3), _rand(rng, 3), _rand(rng, 2)
    np.testing.assert_allclose(th.function([W, x, v], gx, on_unused_input="ignore")(Wv, xv, vv), vv.dot(Wv))
    assert isinstance(gradient.Lop([y], [x, W], [v]), list)


def test_the_gradient_of_the_cost_with_respect_to_itself_is_one():
    x = T.scalar("x")
    c = x * 2
    assert float(T.grad(c, c).eval({x: 1.0})) == 1.0


def test_second_derivatives_come_from_differentiating_a_gradient(rng):
    x = T.vector("x")
    g = T.grad((x ** 3).sum(), x)
    h = T.grad(g.sum(), x)
    xv = _rand(rng, 4)
    np.testing.assert_allclose(th.function([x], h)(xv), 6 * xv)


# ---------------------------------------------------------------------------
# verify_grad itself
# ---------------------------------------------------------------------------


def test_verify_grad_detects_a_wrong_gradient(rng):
    def wrong(x):
        return x * gradient.zero_grad(x)   # symbolic gradient x, true gradient 2x

    with pytest.raises(gradient.GradientError) as info:
        gradient.verify_grad(wrong, [_rand(rng, 4) + 3.0], rng=rng)
    err = info.value
    assert err.arg == 0 and err.abs_err > err.abs_tol
    assert "abs. error" in str(err)


def test_verify_grad_checks_its_arguments(rng):
    with pytest.raises(TypeError, match="RandomState"):
        gradient.verify_grad(T.exp, [np.ones(3)])
    with pytest.raises(TypeError, match="floating point inputs"):
        gradient.verify_grad(T.exp, [np.ones(3, dtype="int64")], rng=rng)


def test_numeric_grad_estimates_a_derivative():
    ng = gradient.numeric_grad(lambda a: float((a ** 2).sum()), [np.array([1.0, -2.0])])
    np.testing.assert_allclose(ng.gf[0], [2.0, -4.0], atol=1e-5)


# ---------------------------------------------------------------------------
# training with the gradients
# ---------------------------------------------------------------------------


def test_gradient_descent_on_a_logistic_regression_lowers_the_loss(rng):
    n, d = 200, 4
    Xv = rng.randn(n, d)
    true_w = np.array([1.5, -2.0, 0.5, 1.0])
    yv = (Xv.dot(true_w) + 0.3 * rng.randn(n) > 0).astype("float64")
    X = T.matrix("X")
    y = T.vector("y")
    w = th.shared(np.zeros(d), name="w")
    b = th.shared(0.0, name="b")
    p = T.nnet.sigmoid(T.dot(X, w) + b)
    loss = -T.mean(y * T.log(p) + (1 - y) * T.log(1 - p))
    gw, gb = T.grad(loss, [w, b])
    train = th.function([X, y], loss, updates=[(w, w - 0.5 * gw), (b, b - 0.5 * gb)])
    losses = [float(train(Xv, yv)) for _ in range(100)]
    assert losses[-1] < 0.5 * losses[0]
    assert all(b2 <= a2 + 1e-12 for a2, b2 in zip(losses, losses[1:]))
    accuracy = np.mean((Xv.dot(w.get_value()) + b.get_value() > 0) == (yv > 0.5))
    assert accuracy > 0.9


def test_an_embedding_trained_through_a_gather_learns_its_targets(rng):
    E = th.shared(rng.randn(5, 2) * 0.1, name="E")
    idx = T.lvector("idx")
    target = T.matrix("target")
    loss = ((E[idx] - target) ** 2).sum()
    train = th.function([idx, target], loss, updates=[(E, E - 0.1 * T.grad(loss, E))])
    iv = np.array([0, 3, 3, 1])
    tv = np.array([[1.0, 0.0], [0.0, 1.0], [0.0, 1.0], [-1.0, -1.0]])
    first = float(train(iv, tv))
    for _ in range(60):
        last = float(train(iv, tv))
    assert last < 1e-3 * first
    np.testing.assert_allclose(E.get_value()[[0, 3, 1]], tv[[0, 1, 3]], atol=1e-2)
