"""The matrix products the gemm rewrite leaves get Theano's names in
FAST_RUN: `dot` of two matrices of one float dtype becomes `Dot22`, and such
a product scaled by a scalar (and read by nothing else) `Dot22Scalar`, the
scale applied inside the product. Results equal FAST_COMPILE's and NumPy's;
other products stay `dot`; the ops built by hand check their operands and
have the gradients of the products they stand for."""
import numpy as np
import pytest

import rtensor as th

T = th.tensor
blas = T.blas

FLOATS = ["float32", "float64"]
RTOL = {"float32": 2e-5, "float64": 1e-12}


def ops_of(f):
    """The op names of a compiled function's nodes, without parameters."""
    return [str(n).split("(")[0].split("{")[0] for n in f.maker.fgraph.toposort()]


def both_modes(inputs, output):
    return tuple(th.function(inputs, output, mode=mode, on_unused_input="ignore")
                 for mode in ("FAST_RUN", "FAST_COMPILE"))


def close(a, b, dtype):
    assert a.dtype == b.dtype
    np.testing.assert_allclose(a, b, rtol=RTOL[dtype], atol=RTOL[dtype] * 10)


@pytest.mark.parametrize("dtype", FLOATS)
@pytest.mark.parametrize("shapes", [((5, 4), (4, 3)), ((1, 7), (7, 1)), ((3, 0), (0, 2))])
def test_a_product_of_two_matrices_becomes_dot22_and_matches_fast_compile(dtype, shapes):
    x, y = T.matrix("x", dtype=dtype), T.matrix("y", dtype=dtype)
    for expr in (T.dot(x, y), T.dot(y.T, x.T)):
        fast, slow = both_modes([x, y], expr)
        assert ops_of(fast)[-1] == "Dot22" and "dot" not in ops_of(fast)
        assert "Dot22" not in ops_of(slow)
        rng = np.random.default_rng(1)
        a, b = (rng.standard_normal(s).astype(dtype) for s in shapes)
        got = fast(a, b)
        assert got.dtype == dtype
        close(got, slow(a, b), dtype)
        close(fast(a, b), slow(a, b), dtype)  # the old output written over


@pytest.mark.parametrize("dtype", FLOATS)
def test_a_product_scaled_by_a_scalar_becomes_dot22scalar(dtype):
    x, y = T.matrix("x", dtype=dtype), T.matrix("y", dtype=dtype)
    s = T.scalar("s", dtype=dtype)
    rng = np.random.default_rng(2)
    a, b = rng.standard_normal((4, 6)).astype(dtype), rng.standard_normal((6, 3)).astype(dtype)
    sv = np.asarray(-1.75, dtype=dtype)
    for expr in (T.dot(x, y) * 2, 2 * T.dot(x, y), s * T.dot(x, y),
                 T.dot(x, y) * s.dimshuffle("x", "x")):
        fast, slow = both_modes([x, y, s], expr)
        text = th.debugprint(fast, file="str")
        assert text.startswith("Dot22Scalar [id A]"), text
        assert ops_of(fast) == ["Dot22Scalar"], ops_of(fast)
        close(fast(a, b, sv), slow(a, b, sv), dtype)


def test_products_that_are_not_two_float_matrices_of_one_dtype_stay_dot():
    m, v = T.dmatrix("m"), T.dvector("v")
    im, jm = T.imatrix("i"), T.imatrix("j")
    fm = T.fmatrix("f")
    for inputs, expr in (([m, v], T.dot(m, v)), ([v], T.dot(v, v)), ([im, jm], T.dot(im, jm)),
                         ([fm, m], T.dot(fm, m))):
        f = th.function(inputs, expr)
        assert "dot" in ops_of(f) and "Dot22" not in ops_of(f), ops_of(f)
    f = th.function([im, jm], T.dot(im, jm))
    a = np.arange(6, dtype="int32").reshape(2, 3)
    np.testing.assert_array_equal(f(a, a.T), a @ a.T)
    f = th.function([fm, m], T.dot(fm, m))
    b = np.ones((3, 3))
    np.testing.assert_allclose(f(b.astype("float32"), b), b @ b)


def test_a_product_read_elsewhere_or_scaled_by_a_matrix_or_a_wider_dtype_keeps_its_mul():
    x, y, z = T.dmatrix("x"), T.dmatrix("y"), T.dmatrix("z")
    d = T.dot(x, y)
    f = th.function([x, y], [d * 2, d])
    assert "Dot22Scalar" not in ops_of(f) and "Dot22" in ops_of(f)
    g = th.function([x, y, z], d * z)
    assert "Dot22Scalar" not in ops_of(g)
    fx, fy, wide = T.fmatrix("fx"), T.fmatrix("fy"), T.dscalar("w")
    h = th.function([fx, fy, wide], T.dot(fx, fy) * wide)
    assert "Dot22Scalar" not in ops_of(h) and "Dot22" in ops_of(h)
    rng = np.random.default_rng(3)
    a, b, c = rng.standard_normal((3, 3)), rng.standard_normal((3, 3)), rng.standard_normal((3, 3))
    twice, once = f(a, b)
    np.testing.assert_allclose(twice, 2 * (a @ b), rtol=1e-12)
    np.testing.assert_allclose(once, a @ b, rtol=1e-12)
    np.testing.assert_allclose(g(a, b, c), (a @ b) * c, rtol=1e-12)
    out = h(a.astype("float32"), b.astype("float32"), 0.5)
    assert out.dtype == "float64"
    np.testing.assert_allclose(out, 0.5 * (a.astype("float32") @ b.astype("float32")), rtol=1e-6)


def test_dot22_and_dot22scalar_by_hand_match_numpy_and_their_gradients_match_finite_differences():
    rng = np.random.default_rng(4)
    x, y, s = T.dmatrix("x"), T.dmatrix("y"), T.dscalar("s")
    a, b = rng.standard_normal((3, 4)), rng.standard_normal((4, 2))
    f = th.function([x, y, s], [blas._dot22(x, y), blas._dot22scalar(x, y, s)])
    plain, scaled = f(a, b, 0.3)
    np.testing.assert_allclose(plain, a @ b, rtol=1e-12)
    np.testing.assert_allclose(scaled, 0.3 * (a @ b), rtol=1e-12)
    th.gradient.verify_grad(blas._dot22, [a, b], rng=np.random.RandomState(4))
    th.gradient.verify_grad(blas._dot22scalar, [a, b, np.asarray(-0.7)],
                            rng=np.random.RandomState(4))


def test_dot22_refuses_operands_of_the_wrong_rank_or_dtype_and_misaligned_shapes():
    x, y = T.dmatrix("x"), T.dmatrix("y")
    with pytest.raises(TypeError, match=r"Dot22: y must be 2-dimensional"):
        blas._dot22(x, T.dvector("v"))
    with pytest.raises(TypeError, match=r"Dot22: .*one dtype"):
        blas._dot22(x, T.fmatrix("f"))
    with pytest.raises(TypeError, match=r"Dot22Scalar: a must be 0-dimensional"):
        blas._dot22scalar(x, y, T.dvector("v"))
    f = th.function([x, y], T.dot(x, y) * 3)
    assert ops_of(f) == ["Dot22Scalar"]
    with pytest.raises(ValueError, match=r"Dot22Scalar: shapes of x \[2, 3\] and y \[4, 2\] are not aligned"):
        f(np.ones((2, 3)), np.ones((4, 2)))
    np.testing.assert_allclose(f(np.ones((2, 3)), np.ones((3, 2))), np.full((2, 2), 9.0))


@pytest.mark.parametrize("dtype", FLOATS)
def test_a_minibatch_times_a_wide_weight_split_over_the_cores_matches_numpy_and_repeats_its_bits(dtype):
    # The MLP's 20x784 by 784x500 product is split along its inner side on
    # a machine with two or more cores; the blocks' sums are added in a
    # fixed order, so every call gives the same bits whichever core ran
    # which block.
    x, w = T.matrix("x", dtype=dtype), T.matrix("w", dtype=dtype)
    f = th.function([x, w], T.dot(x, w))
    rng = np.random.default_rng(5)
    a = rng.standard_normal((20, 784)).astype(dtype)
    b = (rng.standard_normal((784, 500)) * 0.05).astype(dtype)
    first = f(a, b).copy()
    np.testing.assert_allclose(first, a.astype("float64") @ b.astype("float64"),
                               rtol=RTOL[dtype] * 10, atol=RTOL[dtype] * 10)
    for _ in range(30):
        assert np.array_equal(f(a, b), first)
