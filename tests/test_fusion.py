"""Elementwise fusion (FAST_RUN): trees of elementwise nodes whose
intermediates nobody else reads become one `Elemwise{Composite{...}}` node,
named as Theano names it; FAST_COMPILE keeps them apart; fused graphs compute
what unfused ones compute, on random graphs of mixed ops, dtypes,
broadcasting and strided inputs."""
import numpy as np
import pytest

import rtensor as th

T = th.tensor


def _op_name(node_text):
    """`Op{...}(args)` -> `Op{...}` (parentheses inside braces belong to the name)."""
    depth = 0
    for i, ch in enumerate(node_text):
        if ch == "{":
            depth += 1
        elif ch == "}":
            depth -= 1
        elif ch == "(" and depth == 0:
            return node_text[:i]
    return node_text


def ops_of(f):
    return [_op_name(n) for n in f.maker.fgraph.toposort()]


def composites(f):
    return [n for n in ops_of(f) if n.startswith("Elemwise{Composite{")]


# ---------------------------------------------------------------------------
# what is fused, and how it is named
# ---------------------------------------------------------------------------

def test_x_times_2_plus_1_runs_as_one_node():
    x = T.vector("x")
    f = th.function([x], x * 2 + 1)
    assert ops_of(f) == ["Elemwise{Composite{(i0 + (i1 * i2))}}"]
    text = th.printing.debugprint(f, file="str")
    assert text.splitlines() == [
        "Elemwise{Composite{(i0 + (i1 * i2))}} [id A] ''   0",
        " |TensorConstant{(1,) of 1.0} [id B]",
        " |TensorConstant{(1,) of 2.0} [id C]",
        " |x [id D]",
    ]
    v = np.linspace(-1, 1, 10)
    np.testing.assert_array_equal(f(v), v * 2 + 1)


def test_the_spec_example_fuses_with_pow_specialized_to_sqr():
    x, y = T.dvector("x"), T.dvector("y")
    f = th.function([x, y], T.tanh(x * y + 1) ** 2)
    assert ops_of(f) == ["Elemwise{Composite{sqr(tanh((i0 + (i1 * i2))))}}"]
    a, b = np.random.RandomState(0).randn(2, 50)
    np.testing.assert_allclose(f(a, b), np.tanh(a * b + 1) ** 2, rtol=1e-14)


def test_comparisons_switch_casts_and_sigmoid_print_their_scalar_names():
    x = T.dvector("x")
    f = th.function([x], T.switch(T.lt(x, 0), -x, x))
    assert ops_of(f) == ["Elemwise{Composite{Switch(LT(i0, i1), (-i0), i0)}}"]
    g = th.function([x], T.nnet.sigmoid(T.cast(x, "float32") * 2))
    (name,) = composites(g)
    assert "scalar_sigmoid(" in name and "Cast{float32}(" in name
    v = np.array([-2.0, -0.5, 0.0, 3.0])
    np.testing.assert_array_equal(f(v), np.abs(v))


def test_a_lone_elementwise_node_stays_as_it_is():
    s = th.shared(np.asarray(0, dtype="float32"), name="s")
    bump = th.function([], [], updates=[(s, s + 1)])
    # not fused into a Composite; the update writes over s (Theano's inplace add)
    assert ops_of(bump) == ["Elemwise{Add}["]  # "[(0, 0)]" cut by _op_name
    bump()
    bump()
    assert float(s.get_value()) == 2.0


def test_fast_compile_keeps_the_nodes_apart():
    x = T.vector("x")
    f = th.function([x], x * 2 + 1, mode="FAST_COMPILE")
    assert ops_of(f) == ["Elemwise{mul,no_inplace}", "Elemwise{add,no_inplace}"]
    np.testing.assert_array_equal(f(np.arange(4.0)), np.arange(4.0) * 2 + 1)


def test_an_intermediate_with_another_reader_is_not_fused():
    x = T.dvector("x")
    t = T.exp(x)
    f = th.function([x], [t + 1, t * 2])
    names = ops_of(f)
    assert "Elemwise{exp,no_inplace}" in names
    assert not any("exp(" in n for n in composites(f))
    v = np.linspace(-1, 1, 5)
    a, b = f(v)
    np.testing.assert_array_equal(a, np.exp(v) + 1)
    np.testing.assert_array_equal(b, np.exp(v) * 2)


def test_an_intermediate_that_is_an_output_is_not_fused():
    x = T.dvector("x")
    t = T.exp(x)
    f = th.function([x], [t, T.tanh(t + 1)])
    assert "Elemwise{exp,no_inplace}" in ops_of(f)
    assert composites(f) == ["Elemwise{Composite{tanh((i0 + i1))}}"]
    v = np.linspace(-1, 1, 5)
    e, h = f(v)
    np.testing.assert_array_equal(e, np.exp(v))
    np.testing.assert_allclose(h, np.tanh(np.exp(v) + 1), rtol=1e-15)


def test_a_shared_subexpression_read_only_inside_is_fused_and_computed_once():
    x, y = T.dvector("x"), T.dvector("y")
    t = x * y
    f = th.function([x, y], t + T.exp(t))
    assert ops_of(f) == ["Elemwise{Composite{((i0 * i1) + exp((i0 * i1)))}}"]
    a, b = np.random.RandomState(1).randn(2, 30)
    np.testing.assert_allclose(f(a, b), a * b + np.exp(a * b), rtol=1e-15)


def test_a_result_broadcast_by_its_reader_is_not_fused():
    m = T.dmatrix("m")
    r = T.drow("r")
    f = th.function([m, r], m + r * 2)
    names = ops_of(f)
    assert "Elemwise{mul,no_inplace}" in names and "Elemwise{add,no_inplace}" in names
    mv = np.arange(6.0).reshape(2, 3)
    rv = np.array([[1.0, 2.0, 3.0]])
    np.testing.assert_array_equal(f(mv, rv), mv + rv * 2)


def test_the_elemwise_benchmark_graph_is_one_node_on_shared_variables():
    rng = np.random.RandomState(17)
    xv = rng.uniform(0, 3, size=1000).astype("float32")
    x = th.shared(xv, name="x")
    y = th.shared(np.zeros_like(xv), name="y")
    f = th.function([], [], updates=[(y, T.exp(-x ** 2) * T.sin(x) + T.tanh(x))])
    assert ops_of(f) == ["Elemwise{Composite{((exp((-sqr(i0))) * sin(i0)) + tanh(i0))}}"]
    f()
    want = np.exp(-xv ** 2) * np.sin(xv) + np.tanh(xv)
    np.testing.assert_allclose(y.get_value(), want, rtol=2e-6, atol=1e-7)
    assert y.get_value().dtype == np.float32


def test_fused_nodes_read_strided_and_broadcast_inputs(rng):
    m = T.dmatrix("m")
    r = T.frow("r")
    c = T.icol("c")
    out = T.exp(m.T) * r + c - T.sqr(m.T)
    f = th.function([m, r, c], out)
    assert len(composites(f)) == 1
    mv = rng.uniform(-1, 1, size=(5, 3))
    rv = rng.uniform(-1, 1, size=(1, 5)).astype("float32")
    cv = rng.randint(-3, 3, size=(3, 1)).astype("int32")
    want = np.exp(mv.T) * rv + cv - mv.T ** 2
    np.testing.assert_allclose(f(mv, rv, cv), want, rtol=1e-13)
    big = rng.uniform(-1, 1, size=(10, 9))
    view = big[::2, ::3]  # not contiguous
    want = np.exp(view.T) * rv[:, :5] + cv - view.T ** 2
    np.testing.assert_allclose(f(view, rv[:, :5], cv), want, rtol=1e-13)


def test_fused_nodes_split_large_outputs_across_threads(rng):
    x = T.fmatrix("x")
    f = th.function([x], T.tanh(x * 0.5 + 1) * T.exp(-x))
    g = th.function([x], T.tanh(x * 0.5 + 1) * T.exp(-x), mode="FAST_COMPILE")
    assert len(composites(f)) == 1
    v = rng.uniform(-2, 2, size=(513, 301)).astype("float32")
    np.testing.assert_array_equal(f(v), g(v))
    np.testing.assert_array_equal(f(v.T), g(v.T))


@pytest.mark.parametrize("shape", [(100, 512), (7, 1200), (3, 5)])
def test_transcendental_programs_split_from_fewer_elements_with_the_same_values(shape, rng):
    # An LSTM gate's 100x512 is split over threads because sigmoid and tanh
    # cost several additions each; strided slices as in the gate's inputs.
    z = T.fmatrix("z")
    n = shape[1]
    gate = T.nnet.sigmoid(z[:, :n]) * T.tanh(z[:, n:]) + z[:, :n] * 0.5
    f = th.function([z], gate)
    g = th.function([z], gate, mode="FAST_COMPILE")
    assert len(composites(f)) == 1
    v = rng.uniform(-3, 3, size=(shape[0], 2 * n)).astype("float32")
    np.testing.assert_array_equal(f(v), g(v))
    a, b = v[:, :n].astype("float64"), v[:, n:].astype("float64")
    np.testing.assert_allclose(f(v), 1 / (1 + np.exp(-a)) * np.tanh(b) + a * 0.5, rtol=1e-5, atol=1e-6)


def test_fused_graphs_with_empty_inputs_give_empty_outputs():
    x = T.fmatrix("x")
    f = th.function([x], T.exp(x) * 2 + 1)
    out = f(np.zeros((0, 4), dtype="float32"))
    assert out.shape == (0, 4) and out.dtype == np.float32


# ---------------------------------------------------------------------------
# random graphs: fused == unfused
# ---------------------------------------------------------------------------

LEAVES = [
    ("fm", "float32", (False, False), (3, 4)),
    ("dm", "float64", (False, False), (3, 4)),
    ("fr", "float32", (True, False), (1, 4)),
    ("ic", "int32", (False, True), (3, 1)),
    ("bm", "bool", (False, False), (3, 4)),
    ("km", "int8", (False, False), (3, 4)),
    ("us", "uint16", (True, True), (1, 1)),
]


def _leaf_values(rng):
    out = []
    for name, dtype, _, shape in LEAVES:
        if dtype == "bool":
            v = rng.rand(*shape) > 0.5
        elif np.dtype(dtype).kind in "iu":
            v = rng.randint(0 if dtype[0] == "u" else -4, 5, size=shape).astype(dtype)
        else:
            v = rng.uniform(-3, 3, size=shape).astype(dtype)
        out.append(v)
    return out


def _random_expression(rng, leaves, depth):
    """A random elementwise expression over `leaves` (retries ops that do
    not type-check, such as neg of a bool)."""
    if depth == 0 or rng.rand() < 0.2:
        if rng.rand() < 0.15:
            return T.constant([2, -1.5, 0.25, 3][rng.randint(4)])
        return leaves[rng.randint(len(leaves))]
    sub = lambda: _random_expression(rng, leaves, depth - 1)  # noqa: E731
    builders = [
        lambda: sub() + sub(),
        lambda: sub() - sub(),
        lambda: sub() * sub(),
        lambda: sub() / (T.sqr(sub()) + 1.5),
        lambda: T.maximum(sub(), sub()),
        lambda: T.minimum(sub(), sub()),
        lambda: T.tanh(sub()),
        lambda: T.sin(sub()),
        lambda: T.exp(T.clip(sub(), -4, 4)),
        lambda: abs(sub()),
        lambda: -sub(),
        lambda: T.sqr(sub()),
        lambda: T.floor(sub()),
        lambda: T.switch(T.gt(sub(), sub()), sub(), sub()),
        lambda: T.cast(sub(), ["float32", "int16", "float64", "bool"][rng.randint(4)]),
        lambda: T.nnet.sigmoid(sub()),
        lambda: T.eq(sub(), sub()) | T.isnan(sub()),
        lambda: sub() // (abs(sub()) + 1),
    ]
    for _ in range(20):
        try:
            return builders[rng.randint(len(builders))]()
        except TypeError:
            continue
    return leaves[0]


def _compare(fused, unfused):
    for a, b in zip(fused, unfused):
        assert a.dtype == b.dtype and a.shape == b.shape
        if a.dtype.kind == "f":
            np.testing.assert_allclose(a, b, rtol=1e-6 if a.dtype == np.float32 else 1e-13,
                                       atol=1e-6 if a.dtype == np.float32 else 1e-13, equal_nan=True)
        else:
            np.testing.assert_array_equal(a, b)


@pytest.mark.parametrize("seed", range(60))
def test_random_fused_graphs_compute_what_unfused_ones_compute(seed):
    rng = np.random.RandomState(1000 + seed)
    leaves = [T.TensorType(dtype, bcast)(name) for name, dtype, bcast, _ in LEAVES]
    outs = [_random_expression(rng, leaves, 4) for _ in range(1 + rng.randint(2))]
    fast = th.function(leaves, outs, on_unused_input="ignore")
    slow = th.function(leaves, outs, on_unused_input="ignore", mode="FAST_COMPILE")
    assert len(ops_of(fast)) <= len(ops_of(slow))
    values = _leaf_values(rng)
    with np.errstate(all="ignore"):
        _compare(fast(*values), slow(*values))
        # the same with non-contiguous views for the matrix inputs
        strided = [np.asfortranarray(v) if v.ndim == 2 and v.shape == (3, 4) else v for v in values]
        _compare(fast(*strided), slow(*values))


def test_random_graphs_do_get_fused():
    rng = np.random.RandomState(7)
    leaves = [T.TensorType(dtype, bcast)(name) for name, dtype, bcast, _ in LEAVES]
    fused = 0
    for _ in range(20):
        out = _random_expression(rng, leaves, 4)
        fused += bool(composites(th.function(leaves, out, on_unused_input="ignore")))
    assert fused >= 10


def test_fused_nodes_read_reversed_and_sliced_views(rng):
    v = T.dvector("v")
    f = th.function([v], T.exp(v[::-1]) * 2 + v[::-1])
    assert len(composites(f)) == 1
    x = rng.uniform(-1, 1, size=1001)
    np.testing.assert_allclose(f(x), np.exp(x[::-1]) * 2 + x[::-1], rtol=1e-14, atol=1e-15)
    np.testing.assert_allclose(f(x[::-3]), np.exp(x[::-3][::-1]) * 2 + x[::-3][::-1], rtol=1e-14, atol=1e-15)


def test_a_shape_mismatch_in_a_fused_node_names_the_node():
    a, b = T.dvector("a"), T.dvector("b")
    f = th.function([a, b], T.exp(a) * 2 + b)
    with pytest.raises(ValueError, match=r"Input dimension mis-match(.|\n)*Elemwise\{Composite\{"):
        f(np.ones(3), np.ones(4))


@pytest.mark.parametrize("shape", [(100, 500), (9, 700), (40, 128), (40, 127), (3, 2048)])
def test_fused_nodes_read_column_slices_and_broadcast_rows_as_numpy_does(shape, rng):
    # An LSTM cell after its merged product: column slices of one matrix,
    # one read bottom row first, plus a bias per gate broadcast over the rows.
    rows, n = shape
    z = T.fmatrix("z")
    b = T.fvector("b")
    r = T.frow("r")
    i, f_, c = z[:, 5:5 + n], z[::-1, 5 + n:5 + 2 * n], z[:, 5 + 2 * n:]
    cell = T.nnet.sigmoid(i + b) * T.tanh(c + r) + T.nnet.sigmoid(f_ + b) * i
    f = th.function([z, b, r], cell)
    g = th.function([z, b, r], cell, mode="FAST_COMPILE")
    assert len(composites(f)) == 1
    zv = rng.uniform(-3, 3, size=(rows, 5 + 3 * n)).astype("float32")
    bv = rng.uniform(-1, 1, size=n).astype("float32")
    rv = rng.uniform(-1, 1, size=(1, n)).astype("float32")
    np.testing.assert_array_equal(f(zv, bv, rv), g(zv, bv, rv))
    z64, b64, r64 = zv.astype("float64"), bv.astype("float64"), rv.astype("float64")
    iv, fv, cv = z64[:, 5:5 + n], z64[::-1, 5 + n:5 + 2 * n], z64[:, 5 + 2 * n:]
    sig = lambda a: 1 / (1 + np.exp(-a))  # noqa: E731
    want = sig(iv + b64) * np.tanh(cv + r64) + sig(fv + b64) * iv
    np.testing.assert_allclose(f(zv, bv, rv), want, rtol=1e-5, atol=1e-6)
