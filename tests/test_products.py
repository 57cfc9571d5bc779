"""Tensor products compared with NumPy: outer, tensordot, dot of N-d
operands and scalars, batched_dot (BatchedDot) and batched_tensordot."""
import numpy as np
import pytest

import rtensor as th

T = th.tensor
debugprint = th.printing.debugprint


def _var(dtype, ndim, name=None):
    return T.TensorType(dtype, (False,) * ndim)(name)


def _rand(rng, shape, dtype):
    if np.dtype(dtype).kind in "iu":
        return np.asarray(rng.randint(-4, 5, size=shape), dtype=dtype)
    return np.asarray(rng.uniform(-2, 2, size=shape), dtype=dtype)


def _check(out, expected, dtype=None):
    expected = np.asarray(expected)
    assert isinstance(out, np.ndarray)
    assert out.shape == expected.shape
    if dtype is not None:
        assert out.dtype == np.dtype(dtype)
    if out.dtype.kind == "f":
        tol = 1e-4 if out.dtype.itemsize == 4 else 1e-10
        np.testing.assert_allclose(out, expected, rtol=tol, atol=tol)
    else:
        np.testing.assert_array_equal(out, expected)


def _owner_name(v):
    info = v.owner_info()
    return None if info is None else info[0]


# ---------------------------------------------------------------------------
# outer
# ---------------------------------------------------------------------------

@pytest.mark.parametrize("sx,sy", [((3,), (4,)), ((2, 2), (3,)), ((0,), (2,)), ((1,), (1,))])
@pytest.mark.parametrize("dtype", ["float64", "float32", "int32"])
def test_outer_matches_numpy_and_flattens_non_vectors(sx, sy, dtype, rng):
    x, y = _var(dtype, len(sx), "x"), _var(dtype, len(sy), "y")
    xv, yv = _rand(rng, sx, dtype), _rand(rng, sy, dtype)
    out = th.function([x, y], T.outer(x, y))(xv, yv)
    _check(out, np.outer(xv, yv), dtype=dtype)


def test_outer_is_a_dot_of_a_column_and_a_row():
    o = T.outer(T.dvector("x"), T.dvector("y"))
    text = debugprint(o, file="str")
    assert text.splitlines()[0].startswith("dot [id A]")
    assert "InplaceDimShuffle{0,x}" in text and "InplaceDimShuffle{x,0}" in text


# ---------------------------------------------------------------------------
# tensordot
# ---------------------------------------------------------------------------

TENSORDOT_CASES = [
    ((2, 3, 4), (3, 4, 5), 2),
    ((2, 3), (3, 4), 1),
    ((2, 3), (4, 5), 0),
    ((3,), (3,), 1),
    ((2, 3, 4), (4, 3, 5), [[1, 2], [1, 0]]),
    ((2, 3, 4), (5, 4), [[-1], [-1]]),
    ((2, 3, 4), (2, 3, 4), [[0, 1, 2], [0, 1, 2]]),
    ((4, 1, 3), (3, 1), [[2, 1], [0, 1]]),
    ((0, 3), (3, 2), 1),
    ((2, 0), (0, 3), 1),
    ((2, 3, 4), (4,), [2, 0]),
]


@pytest.mark.parametrize("sa,sb,axes", TENSORDOT_CASES)
@pytest.mark.parametrize("dtype", ["float64", "float32", "int64"])
def test_tensordot_matches_numpy(sa, sb, axes, dtype, rng):
    a, b = _var(dtype, len(sa), "a"), _var(dtype, len(sb), "b")
    av, bv = _rand(rng, sa, dtype), _rand(rng, sb, dtype)
    out = th.function([a, b], T.tensordot(a, b, axes))(av, bv)
    _check(out, np.tensordot(av, bv, axes), dtype=dtype)


def test_tensordot_keeps_the_broadcastable_flags_of_kept_axes(rng):
    a = T.TensorType("float64", (True, False, False))("a")
    b = T.dmatrix("b")
    t = T.tensordot(a, b, 1)
    assert t.broadcastable == [True, False, False]
    av, bv = rng.rand(1, 2, 3), rng.rand(3, 4)
    _check(th.function([a, b], t)(av, bv), np.tensordot(av, bv, 1))


def test_tensordot_argument_errors():
    a, b = T.dtensor3("a"), T.dmatrix("b")
    with pytest.raises(ValueError):
        T.tensordot(a, b, 3)
    with pytest.raises(ValueError):
        T.tensordot(a, b, [[0, 1], [0]])
    with pytest.raises(ValueError):
        T.tensordot(a, b, [[3], [0]])
    with pytest.raises(ValueError):
        T.tensordot(a, b, [[0], [1], [0]])
    with pytest.raises(ValueError):
        T.tensordot(a, b, -1)


def test_tensordot_with_mismatched_summed_lengths_fails_at_run_time(rng):
    a, b = T.dmatrix("a"), T.dmatrix("b")
    f = th.function([a, b], T.tensordot(a, b, 1))
    with pytest.raises(ValueError):
        f(rng.rand(2, 3), rng.rand(4, 2))


# ---------------------------------------------------------------------------
# dot of N-d operands and scalars
# ---------------------------------------------------------------------------

@pytest.mark.parametrize("sa,sb", [((2, 3, 4), (4, 5)), ((3, 4), (2, 4, 5)), ((2, 3, 4), (2, 4, 5)),
                                   ((4,), (2, 4, 3)), ((2, 3, 4), (4,)), ((), (2, 3)), ((2, 3), ())])
@pytest.mark.parametrize("dtype", ["float64", "float32"])
def test_dot_of_nd_operands_and_scalars_matches_numpy(sa, sb, dtype, rng):
    a, b = _var(dtype, len(sa), "a"), _var(dtype, len(sb), "b")
    av, bv = _rand(rng, sa, dtype), _rand(rng, sb, dtype)
    out = th.function([a, b], T.dot(a, b))(av, bv)
    _check(out, np.dot(av, bv), dtype=dtype)


def test_dot_with_a_scalar_is_elementwise_multiplication():
    d = T.dot(T.dscalar("s"), T.dmatrix("m"))
    assert _owner_name(d) == "Elemwise{mul,no_inplace}"


# ---------------------------------------------------------------------------
# batched_dot and batched_tensordot
# ---------------------------------------------------------------------------

BATCHED_CASES = [((3, 2, 4), (3, 4, 5), "bij,bjk->bik"),
                 ((3, 2, 4), (3, 4), "bij,bj->bi"),
                 ((3, 4), (3, 4, 5), "bj,bjk->bk"),
                 ((3, 4), (3, 4), "bj,bj->b"),
                 ((0, 2, 3), (0, 3, 1), "bij,bjk->bik"),
                 ((2, 3, 0), (2, 0, 4), "bij,bjk->bik"),
                 ((1, 1, 1), (1, 1, 1), "bij,bjk->bik")]


@pytest.mark.parametrize("sa,sb,spec", BATCHED_CASES)
@pytest.mark.parametrize("dtype", ["float64", "float32", "int32"])
def test_batched_dot_matches_einsum(sa, sb, spec, dtype, rng):
    a, b = _var(dtype, len(sa), "a"), _var(dtype, len(sb), "b")
    av, bv = _rand(rng, sa, dtype), _rand(rng, sb, dtype)
    out = th.function([a, b], T.batched_dot(a, b))(av, bv)
    _check(out, np.einsum(spec, av, bv), dtype=dtype)


def test_batched_dot_of_mixed_dtypes_casts_both_inputs_to_the_upcast(rng):
    a, b = T.ftensor3("a"), T.itensor3("b")
    d = T.batched_dot(a, b)
    assert d.dtype == "float64"
    text = debugprint(d, file="str")
    assert text.splitlines()[0].startswith("BatchedDot [id A]")
    assert "Elemwise{Cast{float64}}" in text
    av, bv = _rand(rng, (2, 3, 4), "float32"), _rand(rng, (2, 4, 2), "int32")
    _check(th.function([a, b], d)(av, bv), np.einsum("bij,bjk->bik", av.astype("float64"), bv), dtype="float64")


@pytest.mark.parametrize("sa,sb,spec", [((3,), (3, 4), "b,bj->bj"), ((3, 4), (3,), "bj,b->bj"),
                                        ((3,), (3,), "b,b->b")])
def test_batched_dot_with_a_vector_is_a_broadcast_product(sa, sb, spec, rng):
    a, b = _var("float64", len(sa), "a"), _var("float64", len(sb), "b")
    av, bv = rng.rand(*sa), rng.rand(*sb)
    _check(th.function([a, b], T.batched_dot(a, b))(av, bv), np.einsum(spec, av, bv))


def test_batched_dot_of_4d_operands_uses_batched_tensordot(rng):
    a, b = T.dtensor4("a"), T.dtensor3("b")
    av, bv = rng.rand(2, 3, 4, 5), rng.rand(2, 5, 6)
    out = th.function([a, b], T.batched_dot(a, b))(av, bv)
    _check(out, np.einsum("bijk,bkl->bijl", av, bv))


@pytest.mark.parametrize("sa,sb,axes,spec", [
    ((2, 3, 4), (2, 4, 5), [[2], [1]], "bij,bjk->bik"),
    ((2, 3, 4, 5), (2, 5, 4), [[2, 3], [2, 1]], "bijk,bkj->bi"),
    ((2, 3, 4), (2, 3, 4), 2, "bij,bij->b"),
    ((2, 3, 4), (2, 4, 3, 5), [[1, 2], [2, 1]], "bij,bjil->bl"),
])
def test_batched_tensordot_matches_einsum(sa, sb, axes, spec, rng):
    a, b = _var("float64", len(sa), "a"), _var("float64", len(sb), "b")
    av, bv = rng.rand(*sa), rng.rand(*sb)
    out = th.function([a, b], T.batched_tensordot(a, b, axes))(av, bv)
    _check(out, np.einsum(spec, av, bv))


def test_batched_dot_shape_errors_name_the_op(rng):
    a, b = T.dtensor3("a"), T.dtensor3("b")
    f = th.function([a, b], T.batched_dot(a, b))
    with pytest.raises(ValueError, match="BatchedDot.*axis 0"):
        f(rng.rand(2, 3, 4), rng.rand(3, 4, 5))
    with pytest.raises(ValueError, match="BatchedDot.*not aligned"):
        f(rng.rand(2, 3, 4), rng.rand(2, 5, 5))


def test_batched_dot_type_errors():
    with pytest.raises(TypeError):
        T.batched_dot(T.dscalar("s"), T.dtensor3("b"))
    with pytest.raises(TypeError):
        T.batched_dot(T.dtensor3("a"), T.dscalar("s"))
    with pytest.raises(ValueError):
        T.batched_tensordot(T.dtensor3("a"), T.dtensor3("b"), [[0], [0]])
