"""The reduction kernels (Sum, Prod, Mean, Max, Min, All, Any over any axes)
read their input in place, in memory order, on C-contiguous, transposed,
sliced and reversed views, compared with NumPy; and the fused reduction of
an elementwise expression (`local_careduce_fusion`): what it fuses, how it
is named, what it refuses, and that it computes what the unfused graph
computes."""
import pickle
import warnings

import numpy as np
import pytest

import rtensor as th
from rtensor.compile.mode import get_mode

T = th.tensor

AXES_3D = [None, 0, 1, 2, -1, (0, 1), (0, 2), (1, 2), (-1, 0), (0, 1, 2)]


def _var(dtype, ndim, name="x"):
    return T.TensorType(dtype, (False,) * ndim)(name)


def _rand(rng, shape, dtype, kind="sum"):
    if dtype == "bool":
        return rng.randint(0, 2, size=shape).astype(bool)
    if np.dtype(dtype).kind in "iu":
        lo, hi = (-2, 2) if kind == "prod" else (-50, 50)
        return rng.randint(lo, hi + 1, size=shape).astype(dtype)
    if kind == "prod":
        return rng.uniform(0.8, 1.25, size=shape).astype(dtype)
    return rng.uniform(-5, 5, size=shape).astype(dtype)


def _layouts(x):
    """The same 3-d values seen C-contiguous, transposed, sliced and reversed."""
    return {
        "contiguous": lambda v: v,
        "transposed": lambda v: v.dimshuffle(2, 0, 1),
        "sliced": lambda v: v[:, ::2, 1:],
        "reversed": lambda v: v[::-1, :, ::-1],
    }


def _np_layout(name, v):
    return {
        "contiguous": v,
        "transposed": np.transpose(v, (2, 0, 1)),
        "sliced": v[:, ::2, 1:],
        "reversed": v[::-1, :, ::-1],
    }[name]


def _np_reduce(kind, v, axis):
    """NumPy's result with Theano's dtypes: float sums, products and means
    accumulate in float64 and keep the input's float dtype; integer and
    bool sums and products give int64; integer means give float64."""
    if kind in ("max", "min"):
        return getattr(np, "a" + kind)(v, axis=axis)
    if kind in ("all", "any"):
        return getattr(np, kind)(v, axis=axis)
    if v.dtype.kind == "f":
        return getattr(np, kind)(v.astype("float64"), axis=axis).astype(v.dtype)
    if kind == "mean":
        return np.mean(v.astype("float64"), axis=axis)
    return getattr(np, kind)(v.astype("int64"), axis=axis)


def _check(got, want, name=""):
    want = np.asarray(want)
    assert got.shape == want.shape, name
    assert got.dtype == want.dtype, name
    if got.dtype.kind == "f":
        tol = 2e-6 if got.dtype == np.float32 else 1e-12
        np.testing.assert_allclose(got, want, rtol=tol, atol=tol, err_msg=name)
    else:
        np.testing.assert_array_equal(got, want, err_msg=name)


def _reduce(kind, v, axis):
    return getattr(T, kind)(v, axis=axis)


@pytest.mark.parametrize("layout", ["contiguous", "transposed", "sliced", "reversed"])
@pytest.mark.parametrize("dtype", ["float32", "float64", "int32", "bool"])
@pytest.mark.parametrize("kind", ["sum", "prod", "mean", "max", "min", "all", "any"])
def test_every_reduction_over_every_axis_set_of_every_layout_matches_numpy(kind, dtype, layout, rng):
    x = _var(dtype, 3)
    view = _layouts(x)[layout](x)
    outs = [_reduce(kind, view, axis) for axis in AXES_3D]
    f = th.function([x], outs)
    for shape in [(6, 7, 9), (3, 1, 5)]:
        xv = _rand(rng, shape, dtype, kind)
        got = f(xv)
        nv = _np_layout(layout, xv)
        for axis, g in zip(AXES_3D, got):
            _check(g, _np_reduce(kind, nv, axis), f"{kind} {dtype} {layout} {shape} axis={axis}")


@pytest.mark.parametrize("layout", ["contiguous", "transposed", "sliced"])
@pytest.mark.parametrize("dtype", ["float32", "float64", "int32"])
def test_large_reductions_split_over_threads_match_numpy(dtype, layout, rng):
    x = _var(dtype, 3)
    view = _layouts(x)[layout](x)
    axes = [None, 0, 1, 2, (0, 2), (1, 2)]
    kinds = ["sum", "mean", "max", "min"]
    f = th.function([x], [_reduce(k, view, a) for k in kinds for a in axes])
    xv = _rand(rng, (40, 60, 70), dtype)
    nv = _np_layout(layout, xv)
    got = iter(f(xv))
    for k in kinds:
        for a in axes:
            _check(next(got), _np_reduce(k, nv, a), f"{k} {dtype} {layout} axis={a}")


def test_float32_sums_accumulate_in_float64(rng):
    x = T.fvector("x")
    f = th.function([x], [x.sum(), x.mean()])
    # 2**24 + 1 + 1 + ... : a float32 accumulator would lose every 1.
    v = np.concatenate([[2.0**24], np.ones(4096)]).astype("float32")
    s, m = f(v)
    assert s.dtype == np.float32 and m.dtype == np.float32
    assert s == np.float32(2.0**24 + 4096)
    np.testing.assert_allclose(m, np.float32((2.0**24 + 4096) / 4097), rtol=1e-7)


@pytest.mark.parametrize("layout", ["contiguous", "transposed"])
def test_max_and_min_propagate_a_nan_from_anywhere(layout, rng):
    x = T.fmatrix("x")
    view = x if layout == "contiguous" else x.T
    f = th.function([x], [view.max(), view.min(), view.max(axis=0), view.min(axis=1)])
    xv = rng.randn(300, 301).astype("float32")
    xv[123, 77] = np.nan
    nv = xv if layout == "contiguous" else xv.T
    for g, w in zip(f(xv), [np.max(nv), np.min(nv), np.max(nv, axis=0), np.min(nv, axis=1)]):
        np.testing.assert_array_equal(g, w)


@pytest.mark.parametrize("shape", [(0, 3), (3, 0), (0, 0), (1, 4), (4, 1), (1, 1)])
@pytest.mark.parametrize("kind", ["sum", "prod", "mean", "all", "any"])
def test_empty_and_size_one_dimensions_match_numpy(shape, kind, rng):
    x = T.dmatrix("x")
    axes = [None, 0, 1, -1]
    f = th.function([x], [_reduce(kind, x, a) for a in axes])
    xv = rng.randn(*shape)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)
        for a, g in zip(axes, f(xv)):
            _check(g, _np_reduce(kind, xv, a), f"{kind} {shape} axis={a}")


def test_max_of_an_empty_reduction_raises_and_of_an_empty_output_does_not():
    x = T.dmatrix("x")
    with pytest.raises(ValueError, match="zero-size array to reduction"):
        th.function([x], x.max(axis=0))(np.zeros((0, 3)))
    with pytest.raises(ValueError, match="zero-size array to reduction"):
        th.function([x], x.min())(np.zeros((2, 0)))
    out = th.function([x], x.max(axis=1))(np.zeros((0, 3)))
    assert out.shape == (0,)


def test_integer_sums_wrap_in_int64_like_numpy():
    x = T.lvector("x")
    v = np.array([2**62, 2**62, 2**62, 7], dtype="int64")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)
        assert th.function([x], x.sum())(v) == np.sum(v)


# ---------------------------------------------------------------------------
# the fused reduction of an elementwise expression
# ---------------------------------------------------------------------------

FUSED = "local_careduce_fusion"


def _op_name(node_text):
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


def _unfused_mode():
    return get_mode("FAST_RUN").excluding(FUSED)


def test_the_sum_of_squares_runs_as_one_node_and_excluding_the_rewrite_keeps_two():
    W = T.fmatrix("W")
    f = th.function([W], (W**2).sum())
    assert ops_of(f) == ["Sum{acc_dtype=float64}{Composite{sqr(i0)}}"]
    text = th.printing.debugprint(f, file="str")
    assert text.splitlines()[0].startswith("Sum{acc_dtype=float64}{Composite{sqr(i0)}} [id A]")
    g = th.function([W], (W**2).sum(), mode=_unfused_mode())
    assert ops_of(g) == ["Elemwise{sqr,no_inplace}", "Sum{acc_dtype=float64}"]
    w = np.random.RandomState(1).randn(784, 500).astype("float32")
    out = f(w)
    assert out.dtype == np.float32
    np.testing.assert_allclose(out, np.sum(w.astype("float64") ** 2), rtol=1e-6)
    np.testing.assert_allclose(out, g(w), rtol=1e-6)


def test_a_fused_composite_is_named_after_the_reduction_and_its_expression():
    x, y = T.dmatrix("x"), T.drow("y")
    f = th.function([x, y], T.exp(x - y).sum(axis=1))
    [name] = ops_of(f)
    assert name.startswith("Sum{axis=[1], acc_dtype=float64}{Composite{exp(")


def _fused_cases():
    x, y, z = T.fmatrix("x"), T.frow("y"), T.fmatrix("z")
    i = T.imatrix("i")
    d = T.dmatrix("d")
    return [
        ("sum of squares", [x], (x**2).sum()),
        ("sum over rows of exp(x - row)", [x, y], T.exp(x - y).sum(axis=1)),
        ("sum over columns of exp(x - row)", [x, y], T.exp(x - y).sum(axis=0)),
        ("max of abs over axis 0", [x], abs(x).max(axis=0)),
        ("min of x * z over axis -1", [x, z], (x * z).min(axis=-1)),
        ("mean of x * z + 1", [x, z], (x * z + 1).mean()),
        ("prod of a small tanh", [d], (T.tanh(d) * 0.1 + 1).prod(axis=0)),
        ("sum of transposed squares", [x], (x.T ** 2).sum(axis=0)),
        ("sum of squares of a slice", [x], (x[:, ::2] ** 2).sum(axis=1)),
        ("integer sum", [i], (i * 3 - 1).sum(axis=0)),
        ("count of positives", [x], (x > 0).sum(axis=1)),
        ("float64 sum of a float32 cast", [x], T.cast(x, "float64").sum()),
    ]


@pytest.mark.parametrize("shape", [(7, 9), (300, 257), (1, 5), (0, 4)])
@pytest.mark.parametrize("case", range(12))
def test_fused_reductions_compute_what_fast_compile_computes(case, shape, rng):
    name, inputs, out = _fused_cases()[case]
    f = th.function(inputs, out)
    assert any(n.endswith("}}") and "{Composite{" in n and not n.startswith("Elemwise")
               for n in ops_of(f)), (name, ops_of(f))
    ref = th.function(inputs, out, mode="FAST_COMPILE")
    values = []
    for v in inputs:
        vshape = (1, shape[1]) if tuple(v.broadcastable) == (True, False) else shape
        values.append(_rand(rng, vshape, v.dtype, "prod" if "prod" in name else "sum"))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)
        try:
            want = ref(*values)
        except ValueError:
            # Max or Min of nothing: the fused node refuses it alike.
            with pytest.raises(ValueError, match="zero-size array"):
                f(*values)
            return
        got = f(*values)
    assert got.dtype == want.dtype and got.shape == want.shape, name
    tol = 1e-5 if got.dtype == np.float32 else 1e-12
    np.testing.assert_allclose(got, want, rtol=tol, atol=tol, err_msg=name)


def test_an_elementwise_output_with_another_client_is_not_fused():
    W = T.fmatrix("W")
    s = W**2
    f = th.function([W], [s.sum(), s.max()])
    assert "Elemwise{sqr,no_inplace}" in ops_of(f)
    assert not any("{Composite{" in n for n in ops_of(f) if n.startswith(("Sum", "Max")))
    g = th.function([W], [s.sum(), s])
    assert "Sum{acc_dtype=float64}" in ops_of(g)
    w = np.random.RandomState(2).randn(30, 40).astype("float32")
    total, sq = g(w)
    np.testing.assert_allclose(total, np.sum(w.astype("float64") ** 2), rtol=1e-6)
    np.testing.assert_allclose(sq, w**2)


def test_a_function_with_fused_reductions_pickles_and_computes_the_same_after_loading():
    W = T.dmatrix("W")
    f = th.function([W], [(W**2).sum(), T.exp(W).mean(axis=0)])
    assert sorted(n for n in ops_of(f) if "{Composite{" in n) == [
        "Mean{axis=[0]}{Composite{exp(i0)}}",
        "Sum{acc_dtype=float64}{Composite{sqr(i0)}}",
    ]
    w = np.random.RandomState(3).randn(20, 30)
    s, m = f(w)
    np.testing.assert_allclose(s, np.sum(w**2), rtol=1e-12)
    np.testing.assert_allclose(m, np.mean(np.exp(w), axis=0), rtol=1e-12)
    f2 = pickle.loads(pickle.dumps(f))
    s2, m2 = f2(w)
    np.testing.assert_allclose(s2, s, rtol=1e-12)
    np.testing.assert_allclose(m2, m, rtol=1e-12)


def test_gradients_through_fusable_reductions_are_taken_before_the_rewrite():
    W = T.dmatrix("W")
    cost = (W**2).sum() + T.exp(W).mean()
    gW = T.grad(cost, W)
    f = th.function([W], [cost, gW])
    w = np.random.RandomState(4).randn(20, 30)
    c, g = f(w)
    np.testing.assert_allclose(c, np.sum(w**2) + np.mean(np.exp(w)), rtol=1e-12)
    np.testing.assert_allclose(g, 2 * w + np.exp(w) / w.size, rtol=1e-12)
