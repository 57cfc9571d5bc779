"""BLAS updates: the `gemm` rewrite (FAST_RUN) turns sums of scaled `dot`s
and addends into `Gemm{no_inplace}` (matrices) and `Gemv{no_inplace}`
(matrix-vector), as Theano does; FAST_COMPILE keeps the `dot`s. Rewritten
graphs compute what FAST_COMPILE and NumPy compute, for float32/float64,
transposed and strided operands, broadcast scalars and edge shapes; the ops
built by hand check their operands with errors naming the op."""
import pickle

import numpy as np
import pytest

import rtensor as th

T = th.tensor
blas = T.blas

FLOATS = ["float32", "float64"]
RTOL = {"float32": 2e-5, "float64": 1e-12}


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


def both_modes(inputs, output, **kw):
    fast = th.function(inputs, output, mode="FAST_RUN", **kw)
    slow = th.function(inputs, output, mode="FAST_COMPILE", **kw)
    return fast, slow


def rand(rng, shape, dtype):
    return rng.standard_normal(shape).astype(dtype)


def close(a, b, dtype):
    scale = max(1.0, float(np.max(np.abs(b)))) if np.size(b) else 1.0
    np.testing.assert_allclose(a, b, rtol=RTOL[dtype], atol=RTOL[dtype] * scale * 10)


# ---------------------------------------------------------------------------
# which graphs become Gemm
# ---------------------------------------------------------------------------

@pytest.mark.parametrize("dtype", FLOATS)
def test_z_minus_lr_times_dot_becomes_one_gemm_in_fast_run_only(dtype):
    x, y, z = (T.matrix(n, dtype=dtype) for n in "xyz")
    out = z - np.asarray(0.1, dtype) * T.dot(x, y)
    fast, slow = both_modes([x, y, z], out)
    assert ops_of(fast) == ["Gemm{no_inplace}"]
    assert "dot" in ops_of(slow) and "Gemm{no_inplace}" not in ops_of(slow)
    rng = np.random.default_rng(0)
    a, b, c = rand(rng, (4, 3), dtype), rand(rng, (3, 5), dtype), rand(rng, (4, 5), dtype)
    want = c - np.asarray(0.1, dtype) * (a @ b)
    close(fast(a, b, c), want, dtype)
    close(slow(a, b, c), want, dtype)
    assert fast(a, b, c).dtype == dtype


@pytest.mark.parametrize("dtype", FLOATS)
def test_scaled_dot_plus_scaled_z_with_symbolic_scalars_becomes_gemm(dtype):
    x, y, z = (T.matrix(n, dtype=dtype) for n in "xyz")
    s, t = T.scalar("s", dtype=dtype), T.scalar("t", dtype=dtype)
    out = s * T.dot(x, y) + t * z
    fast, slow = both_modes([x, y, z, s, t], out)
    assert "Gemm{no_inplace}" in ops_of(fast) and "dot" not in ops_of(fast)
    rng = np.random.default_rng(1)
    args = [rand(rng, (6, 7), dtype), rand(rng, (7, 2), dtype), rand(rng, (6, 2), dtype),
            np.asarray(-1.5, dtype), np.asarray(0.25, dtype)]
    want = args[3] * (args[0] @ args[1]) + args[4] * args[2]
    close(fast(*args), want, dtype)
    close(slow(*args), want, dtype)


@pytest.mark.parametrize("expr", [
    lambda d, z: d + z,
    lambda d, z: z + d,
    lambda d, z: z - d,
    lambda d, z: -d + z,
    lambda d, z: 2 * d - 3 * z,
    lambda d, z: (z - d * 0.5) * 4,
])
def test_sums_of_a_dot_and_an_addend_become_one_gemm(expr):
    x, y, z = T.dmatrix("x"), T.dmatrix("y"), T.dmatrix("z")
    out = expr(T.dot(x, y), z)
    fast, slow = both_modes([x, y, z], out)
    assert ops_of(fast) == ["Gemm{no_inplace}"]
    rng = np.random.default_rng(2)
    a, b, c = rng.standard_normal((5, 4)), rng.standard_normal((4, 3)), rng.standard_normal((5, 3))
    want = expr(a @ b, c)
    close(fast(a, b, c), want, "float64")
    close(slow(a, b, c), want, "float64")


def test_a_lone_dot_and_a_dot_read_elsewhere_stay_products():
    x, y, z = T.dmatrix("x"), T.dmatrix("y"), T.dmatrix("z")
    assert ops_of(th.function([x, y], T.dot(x, y) * 2)) == ["Dot22Scalar"]
    d = T.dot(x, y)
    f = th.function([x, y, z], [d + z, d])
    assert "Gemm{no_inplace}" not in ops_of(f)
    rng = np.random.default_rng(3)
    a, b, c = rng.standard_normal((3, 3)), rng.standard_normal((3, 3)), rng.standard_normal((3, 3))
    s, p = f(a, b, c)
    close(s, a @ b + c, "float64")
    close(p, a @ b, "float64")


def test_mixed_dtypes_are_not_rewritten_and_keep_their_values():
    x, y = T.fmatrix("x"), T.fmatrix("y")
    z = T.dmatrix("z")
    f = th.function([x, y, z], z + T.dot(x, y))
    assert "Gemm{no_inplace}" not in ops_of(f)
    rng = np.random.default_rng(4)
    a, b = rand(rng, (2, 3), "float32"), rand(rng, (3, 4), "float32")
    c = rng.standard_normal((2, 4))
    close(f(a, b, c), c + (a @ b).astype("float64"), "float32")


def test_the_mlp_weight_update_with_l2_becomes_gemm():
    rng = np.random.default_rng(5)
    W = th.shared(rand(rng, (8, 6), "float64"), name="W")
    x = T.dmatrix("x")
    gz = T.dmatrix("gz")
    lr, l2 = 0.01, 1e-4
    new_W = W - lr * (T.dot(x.T, gz) + l2 * W)
    fast, slow = both_modes([x, gz], new_W)
    assert any(n.startswith("Gemm{") for n in ops_of(fast)) and "dot" not in ops_of(fast)
    a, g = rng.standard_normal((5, 8)), rng.standard_normal((5, 6))
    Wv = W.get_value()
    want = Wv - lr * (a.T @ g + l2 * Wv)
    close(fast(a, g), want, "float64")
    close(slow(a, g), want, "float64")


@pytest.mark.parametrize("dtype", FLOATS)
def test_an_mlp_training_step_uses_gemm_and_matches_fast_compile(dtype):
    rng = np.random.default_rng(6)
    init = [rand(rng, (7, 5), dtype) * 0.3, np.zeros(5, dtype), rand(rng, (5, 3), dtype) * 0.3,
            np.zeros(3, dtype)]
    results = {}
    for mode in ("FAST_RUN", "FAST_COMPILE"):
        params = [th.shared(v.copy()) for v in init]
        W1, b1, W2, b2 = params
        x = T.matrix("x", dtype=dtype)
        y = T.ivector("y")
        h = T.tanh(T.dot(x, W1) + b1)
        p = T.nnet.softmax(T.dot(h, W2) + b2)
        cost = -T.mean(T.log(p)[T.arange(y.shape[0]), y]) + np.asarray(1e-3, dtype) * (W1 ** 2).sum()
        grads = T.grad(cost, params)
        lr = np.asarray(0.1, dtype)
        step = th.function([x, y], cost, mode=mode,
                           updates=[(q, q - lr * g) for q, g in zip(params, grads)])
        if mode == "FAST_RUN":
            assert sum(n.startswith("Gemm{") for n in ops_of(step)) >= 2
        xs = rand(np.random.default_rng(7), (4, 7), dtype)
        ys = np.array([0, 2, 1, 2], dtype="int32")
        costs = [step(xs, ys) for _ in range(3)]
        results[mode] = costs + [q.get_value() for q in params]
    for a, b in zip(results["FAST_RUN"], results["FAST_COMPILE"]):
        close(np.asarray(a), np.asarray(b), dtype)


# ---------------------------------------------------------------------------
# values on transposed/strided operands, broadcast addends, edge shapes
# ---------------------------------------------------------------------------

@pytest.mark.parametrize("dtype", FLOATS)
@pytest.mark.parametrize("m,k,n", [(1, 4, 3), (4, 1, 3), (4, 3, 1), (1, 1, 1), (0, 3, 2),
                                   (3, 0, 2), (2, 3, 0), (33, 17, 65), (64, 80, 48)])
def test_gemm_matches_numpy_on_transposed_and_strided_operands(dtype, m, k, n):
    x, y, z = (T.matrix(v, dtype=dtype) for v in "xyz")
    half, two = np.asarray(0.5, dtype), np.asarray(2.0, dtype)
    out = z * half - two * T.dot(x.T, y[:, ::2])
    fast, slow = both_modes([x, y, z], out)
    assert ops_of(fast).count("Gemm{no_inplace}") == 1
    rng = np.random.default_rng(m * 100 + k * 10 + n)
    a = rand(rng, (k, m), dtype)
    b = rand(rng, (k, 2 * n), dtype)
    c = rand(rng, (m, n), dtype)
    want = c * np.asarray(0.5, dtype) - np.asarray(2.0, dtype) * (a.T @ b[:, ::2])
    got = fast(a, b, c)
    assert got.shape == (m, n) and got.dtype == dtype
    close(got, want, dtype)
    close(slow(a, b, c), want, dtype)
    # strided (non-contiguous) array arguments
    a2 = rand(rng, (k, 2 * m), dtype)[:, ::2]
    close(fast(a2, b, c), c * np.asarray(0.5, dtype) - np.asarray(2.0, dtype) * (a2.T @ b[:, ::2]),
          dtype)


@pytest.mark.parametrize("dtype", FLOATS)
def test_a_broadcastable_row_addend_is_left_to_the_elementwise_add(dtype):
    x, y = T.matrix("x", dtype=dtype), T.matrix("y", dtype=dtype)
    r = T.row("r", dtype=dtype)
    out = T.dot(x, y) + r
    fast, slow = both_modes([x, y, r], out)
    assert "Gemm{no_inplace}" not in ops_of(fast)
    rng = np.random.default_rng(8)
    a, b, c = rand(rng, (5, 4), dtype), rand(rng, (4, 3), dtype), rand(rng, (1, 3), dtype)
    close(fast(a, b, c), a @ b + c, dtype)
    close(slow(a, b, c), a @ b + c, dtype)


@pytest.mark.parametrize("dtype", FLOATS)
def test_with_two_products_the_bias_row_becomes_the_second_gemms_z(dtype):
    # dot(x, W) + dot(h, U) + b: the first product's addend is the rest of the
    # sum, itself a product plus a broadcast row; the row joins that product
    # as its z (copied into the output inside the product), with no add left.
    x, h = T.matrix("x", dtype=dtype), T.matrix("h", dtype=dtype)
    W, U = T.matrix("W", dtype=dtype), T.matrix("U", dtype=dtype)
    b = T.vector("b", dtype=dtype)
    out = T.dot(x, W) + T.dot(h, U) + b
    fast, slow = both_modes([x, h, W, U, b], out)
    before = ops_of(slow)
    after = ops_of(fast)
    assert before.count("dot") == 2 and "Elemwise{add,no_inplace}" in before
    assert after.count("Gemm{no_inplace}") + after.count("Gemm{inplace}") == 2
    assert "dot" not in after and not any(o.startswith("Elemwise") for o in after)
    text = th.printing.debugprint(fast, file="str")
    inner = text.split("Gemm{no_inplace}", 1)[1]
    assert "DimShuffle{x,0}" in inner.split("TensorConstant", 1)[0]
    rng = np.random.default_rng(21)
    args = [rand(rng, s, dtype) for s in [(7, 5), (7, 4), (5, 6), (4, 6), (6,)]]
    expected = args[0] @ args[2] + args[1] @ args[3] + args[4]
    close(fast(*args), expected, dtype)
    close(slow(*args), expected, dtype)
    close(fast(*args), slow(*args), dtype)


@pytest.mark.parametrize("z_shape", [(1, 3), (5, 1), (1, 1)])
def test_gemm_by_hand_broadcasts_a_z_of_length_one_axes(z_shape):
    x, y = T.dmatrix("x"), T.dmatrix("y")
    z = T.TensorType("float64", (False, False))("z")
    f = th.function([z, x, y], blas.gemm_no_inplace(z, 2.0, x, y, 0.5))
    rng = np.random.default_rng(14)
    a, b, c = rng.standard_normal((5, 4)), rng.standard_normal((4, 3)), rng.standard_normal(z_shape)
    close(f(c, a, b), 0.5 * c + 2.0 * (a @ b), "float64")


def test_a_zero_scale_on_z_ignores_its_nans():
    x, y, z = T.dmatrix("x"), T.dmatrix("y"), T.dmatrix("z")
    out = blas.gemm_no_inplace(z, 1.0, x, y, 0.0)
    f = th.function([x, y, z], out)
    a, b = np.ones((2, 3)), np.ones((3, 2))
    np.testing.assert_array_equal(f(a, b, np.full((2, 2), np.nan)), a @ b)


def test_gemm_by_hand_computes_b_z_plus_a_dot_and_pickles():
    x, y, z = T.dmatrix("x"), T.dmatrix("y"), T.dmatrix("z")
    a, b = T.dscalar("a"), T.dscalar("b")
    out = blas.gemm_no_inplace(z, a, x, y, b)
    assert str(out.owner.op) == "Gemm{no_inplace}"
    f = th.function([z, a, x, y, b], out)
    rng = np.random.default_rng(9)
    zv, xv, yv = rng.standard_normal((3, 4)), rng.standard_normal((3, 5)), rng.standard_normal((5, 4))
    close(f(zv, 0.3, xv, yv, -2.0), -2.0 * zv + 0.3 * (xv @ yv), "float64")
    g = pickle.loads(pickle.dumps(f))
    close(g(zv, 0.3, xv, yv, -2.0), -2.0 * zv + 0.3 * (xv @ yv), "float64")


# ---------------------------------------------------------------------------
# Gemv
# ---------------------------------------------------------------------------

@pytest.mark.parametrize("dtype", FLOATS)
@pytest.mark.parametrize("m,k", [(1, 1), (1, 5), (5, 1), (0, 3), (3, 0), (37, 29), (100, 100), (130, 7)])
def test_matrix_vector_sums_become_gemv_and_match_numpy(dtype, m, k):
    A = T.matrix("A", dtype=dtype)
    v, u = T.vector("v", dtype=dtype), T.vector("u", dtype=dtype)
    out = u - np.asarray(0.5, dtype) * T.dot(A, v)
    out_t = np.asarray(3.0, dtype) * T.dot(v, A.T) + u  # dot(vector, matrix)
    fast, slow = both_modes([A, v, u], [out, out_t])
    assert ops_of(fast).count("Gemv{no_inplace}") == 2
    assert "Gemv{no_inplace}" not in ops_of(slow)
    rng = np.random.default_rng(10 + m * 7 + k)
    Av, vv, uv = rand(rng, (m, k), dtype), rand(rng, (k,), dtype), rand(rng, (m,), dtype)
    want = [uv - np.asarray(0.5, dtype) * (Av @ vv), np.asarray(3.0, dtype) * (vv @ Av.T) + uv]
    for f in (fast, slow):
        for got, w in zip(f(Av, vv, uv), want):
            assert got.dtype == dtype and got.shape == (m,)
            close(got, w, dtype)
    # a strided matrix and vector
    A2, v2 = rand(rng, (m, 2 * k), dtype)[:, ::2], rand(rng, (2 * k,), dtype)[::2]
    close(fast(A2, v2, uv)[0], uv - np.asarray(0.5, dtype) * (A2 @ v2), dtype)


def test_a_vector_times_a_transposed_matrix_reads_the_matrix_without_a_transpose():
    W = T.dmatrix("W")
    v, b = T.dvector("v"), T.dvector("b")
    f = th.function([W, v, b], T.dot(v, W.T) + b)
    assert ops_of(f) == ["Gemv{no_inplace}"]
    rng = np.random.default_rng(15)
    Wv, vv, bv = rng.standard_normal((3, 4)), rng.standard_normal(4), rng.standard_normal(3)
    close(f(Wv, vv, bv), vv @ Wv.T + bv, "float64")


def test_gemv_by_hand_and_its_gradient_match_numpy():
    A, x, y = T.dmatrix("A"), T.dvector("x"), T.dvector("y")
    alpha, beta = T.dscalar("alpha"), T.dscalar("beta")
    out = blas.gemv_no_inplace(y, alpha, A, x, beta)
    assert str(out.owner.op) == "Gemv{no_inplace}"
    rng = np.random.default_rng(11)
    Av, xv, yv, w = (rng.standard_normal((4, 3)), rng.standard_normal(3), rng.standard_normal(4),
                     rng.standard_normal(4))
    cost = (out * w).sum()
    gs = T.grad(cost, [y, alpha, A, x, beta])
    f = th.function([y, alpha, A, x, beta], [out] + gs)
    o, gy, ga, gA, gx, gb = f(yv, 0.7, Av, xv, -1.3)
    close(o, -1.3 * yv + 0.7 * (Av @ xv), "float64")
    close(gy, -1.3 * w, "float64")
    close(ga, w @ (Av @ xv), "float64")
    close(gA, 0.7 * np.outer(w, xv), "float64")
    close(gx, 0.7 * (Av.T @ w), "float64")
    close(gb, w @ yv, "float64")


def test_the_gradient_of_gemm_matches_finite_differences():
    rng = np.random.default_rng(12)
    vals = [rng.standard_normal((3, 4)), np.asarray(0.6), rng.standard_normal((3, 2)),
            rng.standard_normal((2, 4)), np.asarray(-0.4)]
    th.gradient.verify_grad(lambda z, a, x, y, b: blas.gemm_no_inplace(z, a, x, y, b), vals,
                            rng=np.random.RandomState(12))


# ---------------------------------------------------------------------------
# errors
# ---------------------------------------------------------------------------

def test_gemm_refuses_operands_of_the_wrong_rank_or_dtype():
    x, y, z = T.dmatrix("x"), T.dmatrix("y"), T.dmatrix("z")
    with pytest.raises(TypeError, match=r"Gemm\{no_inplace\}.*z must be 2-dimensional"):
        blas.gemm_no_inplace(T.dvector("v"), 1.0, x, y, 1.0)
    with pytest.raises(TypeError, match=r"Gemm\{no_inplace\}.*one dtype.*float32"):
        blas.gemm_no_inplace(z, 1.0, T.fmatrix("f"), y, 1.0)
    with pytest.raises(TypeError, match=r"Gemm\{no_inplace\}.*one dtype"):
        blas.gemm_no_inplace(T.imatrix("i"), 1.0, T.imatrix("j"), T.imatrix("k"), 1.0)
    with pytest.raises(TypeError, match=r"Gemm\{no_inplace\}.*a must be 0-dimensional"):
        blas.gemm_no_inplace(z, T.dvector("a"), x, y, 1.0)
    with pytest.raises(TypeError, match=r"Gemv\{no_inplace\}.*A must be 2-dimensional"):
        blas.gemv_no_inplace(T.dvector("y"), 1.0, T.dvector("A"), T.dvector("x"), 1.0)


def test_gemm_refuses_misaligned_shapes_at_run_time_naming_them():
    x, y, z = T.dmatrix("x"), T.dmatrix("y"), T.dmatrix("z")
    f = th.function([x, y, z], z + T.dot(x, y))
    assert ops_of(f) == ["Gemm{no_inplace}"]
    with pytest.raises(ValueError, match=r"Gemm\{no_inplace\}.*\[2, 3\].*\[4, 2\]"):
        f(np.ones((2, 3)), np.ones((4, 2)), np.ones((2, 2)))
    with pytest.raises(ValueError, match=r"Gemm\{no_inplace\}: z of shape \[3, 2\]"):
        f(np.ones((2, 3)), np.ones((3, 2)), np.ones((3, 2)))
    A, v, u = T.dmatrix("A"), T.dvector("v"), T.dvector("u")
    g = th.function([A, v, u], u + T.dot(A, v))
    with pytest.raises(ValueError, match=r"Gemv\{no_inplace\}"):
        g(np.ones((2, 3)), np.ones(4), np.ones(2))


# ---------------------------------------------------------------------------
# buffers reused across calls
# ---------------------------------------------------------------------------

def test_gemm_results_stay_right_when_old_outputs_are_reused():
    x, y, z = T.dmatrix("x"), T.dmatrix("y"), T.dmatrix("z")
    A, v, u = T.dmatrix("A"), T.dvector("v"), T.dvector("u")
    with th.change_flags(allow_gc=False):
        f = th.function([x, y, z, A, v, u], [z - T.dot(x, y) * 0.5, u + T.dot(A, v), T.dot(x, y)])
    rng = np.random.default_rng(13)
    for _ in range(3):
        a, b, c = rng.standard_normal((4, 3)), rng.standard_normal((3, 5)), rng.standard_normal((4, 5))
        Av, vv, uv = rng.standard_normal((2, 3)), rng.standard_normal(3), rng.standard_normal(2)
        outs = f(a, b, c, Av, vv, uv)
        close(outs[0], c - 0.5 * (a @ b), "float64")
        close(outs[1], uv + Av @ vv, "float64")
        close(outs[2], a @ b, "float64")


# ---------------------------------------------------------------------------
# Gemm{inplace}: the product accumulated over an intermediate z
# ---------------------------------------------------------------------------

def _inplace_counts():
    return th._core.inplace_counts()


@pytest.mark.parametrize("dtype", FLOATS)
def test_the_l2_weight_update_scales_w_as_the_gemm_b_and_writes_over_w_when_nobody_holds_it(dtype):
    rng = np.random.default_rng(11)
    W = th.shared(rand(rng, (8, 6), dtype), name="W")
    x = T.matrix("x", dtype=dtype)
    gz = T.matrix("gz", dtype=dtype)
    lr, l2 = np.asarray(0.01, dtype), np.asarray(1e-2, dtype)
    step = th.function([x, gz], [], updates=[(W, W - lr * (T.dot(x.T, gz) + l2 * W))])
    slow_W = th.shared(W.get_value(), name="W")
    slow = th.function([x, gz], [], mode="FAST_COMPILE",
                       updates=[(slow_W, slow_W - lr * (T.dot(x.T, gz) + l2 * slow_W))])
    # W + (-lr * l2) * W is one term, (1 - lr * l2) * W: Gemm's b, and the
    # update is W's own buffer, written over (Theano's Gemm{inplace} on W).
    assert ops_of(step) == ["InplaceDimShuffle{1,0}", "Gemm{inplace}"]
    a, g = rand(rng, (5, 8), dtype), rand(rng, (5, 6), dtype)
    # A view the user holds keeps its value: the Gemm falls back to a fresh buffer.
    borrowed = W.get_value(borrow=True)
    kept = borrowed.copy()
    writes, fallbacks = _inplace_counts()
    step(a, g)
    slow(a, g)
    assert _inplace_counts()[1] == fallbacks + 1
    np.testing.assert_array_equal(borrowed, kept)
    del borrowed
    # Nobody else holds W now: every call writes over it, at the same address.
    address = W.get_value(borrow=True).__array_interface__["data"][0]
    writes, fallbacks = _inplace_counts()
    for _ in range(3):
        step(a, g)
        slow(a, g)
    assert _inplace_counts() == (writes + 3, fallbacks)
    assert W.get_value(borrow=True).__array_interface__["data"][0] == address
    close(W.get_value(), slow_W.get_value(), dtype)


@pytest.mark.parametrize("dtype", FLOATS)
def test_an_update_with_several_addends_accumulates_into_its_fresh_z_as_gemm_inplace(dtype):
    rng = np.random.default_rng(12)
    W = th.shared(rand(rng, (8, 6), dtype), name="W")
    V = th.shared(rand(rng, (8, 6), dtype), name="V")
    x = T.matrix("x", dtype=dtype)
    gz = T.matrix("gz", dtype=dtype)
    lr, l2 = np.asarray(0.01, dtype), np.asarray(1e-2, dtype)
    step = th.function([x, gz], [], updates=[(W, W - lr * (T.dot(x.T, gz) + l2 * V))])
    slow_W = th.shared(W.get_value(), name="W")
    slow = th.function([x, gz], [], mode="FAST_COMPILE",
                       updates=[(slow_W, slow_W - lr * (T.dot(x.T, gz) + l2 * V))])
    # z = W + (-lr * l2) * V is an intermediate: the Gemm writes over it,
    # never over W's own buffer.
    assert "Gemm{inplace}" in ops_of(step)
    text = th.printing.debugprint(step, file="str", print_destroy_map=True)
    assert "Gemm{inplace}" in text and "d={0: [0]}" in text
    borrowed = W.get_value(borrow=True)
    kept = borrowed.copy()
    a, g = rand(rng, (5, 8), dtype), rand(rng, (5, 6), dtype)
    before = _inplace_counts()
    for _ in range(3):
        step(a, g)
        slow(a, g)
    after = _inplace_counts()
    assert after[0] - before[0] >= 3
    close(W.get_value(), slow_W.get_value(), dtype)
    np.testing.assert_array_equal(borrowed, kept)


def test_gemv_over_an_intermediate_y_is_inplace_and_matches_numpy():
    rng = np.random.default_rng(12)
    A, x, y = T.dmatrix("A"), T.dvector("x"), T.dvector("y")
    f = th.function([A, x, y], T.exp(y) + 0.5 * T.dot(A, x))
    assert "Gemv{inplace}" in ops_of(f)
    a, v, w = rng.standard_normal((4, 3)), rng.standard_normal(3), rng.standard_normal(4)
    np.testing.assert_allclose(f(a, v, w), np.exp(w) + 0.5 * (a @ v), rtol=1e-12)


def test_gemm_never_writes_over_a_user_input_or_a_value_read_later():
    x, y, z = T.dmatrix("x"), T.dmatrix("y"), T.dmatrix("z")
    on_input = th.function([x, y, z], z + T.dot(x, y))
    assert "Gemm{no_inplace}" in ops_of(on_input)
    e = T.exp(z)
    read_later = th.function([x, y, z], [e + T.dot(x, y), e.sum()])
    names = ops_of(read_later)
    # exp(z) may be written over only once the sum has read it.
    if "Gemm{inplace}" in names:
        assert next(i for i, n in enumerate(names) if n.startswith("Sum")) < names.index("Gemm{inplace}")
    rng = np.random.default_rng(13)
    a, b, c = rng.standard_normal((3, 4)), rng.standard_normal((4, 2)), rng.standard_normal((3, 2))
    c0 = c.copy()
    np.testing.assert_allclose(on_input(a, b, c), c + a @ b, rtol=1e-12)
    np.testing.assert_array_equal(c, c0)
    out, s = read_later(a, b, c)
    np.testing.assert_allclose(out, np.exp(c) + a @ b, rtol=1e-12)
    np.testing.assert_allclose(s, np.exp(c).sum(), rtol=1e-12)


def test_an_inplace_gemm_whose_z_broadcasts_at_run_time_falls_back_to_a_fresh_buffer():
    x, y, z = T.dmatrix("x"), T.dmatrix("y"), T.dmatrix("z")
    f = th.function([x, y, z], T.exp(z) + T.dot(x, y))
    assert "Gemm{inplace}" in ops_of(f)
    rng = np.random.default_rng(14)
    a, b, c = rng.standard_normal((3, 4)), rng.standard_normal((4, 2)), rng.standard_normal((1, 2))
    before = _inplace_counts()
    np.testing.assert_allclose(f(a, b, c), np.exp(c) + a @ b, rtol=1e-12)
    after = _inplace_counts()
    assert after[1] - before[1] >= 1
