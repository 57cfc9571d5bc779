"""The merge of matrix products sharing an operand (`merge_shared_operand_products`,
FAST_RUN): `dot(x, W_1) ... dot(x, W_k)` become one `dot(x, Join(1, W_1..W_k))`
and column slices (rows for the mirrored `dot(W_i, x)`), when the W_i are
shared variables or constants, or loop-invariant inside a scan body (the Join
then moves out of the loop). Results equal the unmerged graph's (FAST_COMPILE)."""
import re

import numpy as np
import pytest

import rtensor as th
from rtensor.gradient import verify_grad

T = th.tensor


def _ids(text, op):
    """Distinct nodes of `op` in a debugprint (each node is printed with its id)."""
    return set(re.findall(r"(?:^|[ |>])%s \[id (\w+)\]" % re.escape(op), text, re.M))


def _products(text):
    """Distinct matrix products in a debugprint: `dot`, or the `Dot22` that
    FAST_RUN makes of a product of two matrices."""
    return _ids(text, "dot") | _ids(text, "Dot22")


def _subtensors(text):
    return set(re.findall(r"Subtensor\{[^}]*\} \[id (\w+)\]", text))


def _outer_and_inner(text):
    outer, _, inner = text.partition("Inner graphs of the scan ops:")
    return outer, inner


def _weights(rng, shapes, dtype, prefix="W"):
    return [th.shared(rng.standard_normal(s).astype(dtype), name="%s%d" % (prefix, i))
            for i, s in enumerate(shapes)]


def _compile_both(inputs, outputs):
    return (th.function(inputs, outputs),
            th.function(inputs, outputs, mode="FAST_COMPILE"))


def _assert_same_results(f, g, args, dtype):
    tol = 1e-5 if dtype == "float32" else 1e-12
    for a, b in zip(f(*args), g(*args)):
        assert a.dtype == b.dtype
        assert a.shape == b.shape
        np.testing.assert_allclose(a, b, rtol=tol, atol=tol)


@pytest.mark.parametrize("k", [2, 3, 4])
@pytest.mark.parametrize("dtype", ["float32", "float64"])
def test_products_sharing_the_left_operand_become_one_product_of_a_join_and_column_slices(k, dtype):
    rng = np.random.default_rng(k)
    x = T.matrix("x", dtype=dtype)
    Ws = _weights(rng, [(5, 2 + i) for i in range(k)], dtype)
    outputs = [T.tanh(T.dot(x, W)) for W in Ws]
    f, g = _compile_both([x], outputs)
    text = th.debugprint(f, file="str")
    assert len(_products(text)) == 1
    assert len(_ids(text, "Join")) == 1
    assert len(_subtensors(text)) == k
    assert len(_ids(th.debugprint(g, file="str"), "dot")) == k
    for rows in (4, 1, 0):
        xv = rng.standard_normal((rows, 5)).astype(dtype)
        _assert_same_results(f, g, [xv], dtype)
        for W, y in zip(Ws, f(xv)):
            np.testing.assert_allclose(y, np.tanh(xv @ W.get_value()), rtol=1e-5, atol=1e-5)


@pytest.mark.parametrize("k", [2, 3, 4])
@pytest.mark.parametrize("dtype", ["float32", "float64"])
def test_products_sharing_the_right_operand_become_one_product_of_a_join_and_row_slices(k, dtype):
    rng = np.random.default_rng(10 + k)
    x = T.matrix("x", dtype=dtype)
    Ws = _weights(rng, [(3 + i, 6) for i in range(k)], dtype)
    outputs = [T.dot(W, x) * 2 for W in Ws]
    f, g = _compile_both([x], outputs)
    text = th.debugprint(f, file="str")
    assert len(_products(text)) == 1
    assert len(_ids(text, "Join")) == 1
    assert "TensorConstant{0}" in text  # joined along the rows
    assert len(_subtensors(text)) == k
    xv = rng.standard_normal((6, 3)).astype(dtype)
    _assert_same_results(f, g, [xv], dtype)


def test_a_vector_operand_shares_its_products_too():
    rng = np.random.default_rng(1)
    v = T.dvector("v")
    Ws = _weights(rng, [(4, 3), (4, 2)], "float64")
    f, g = _compile_both([v], [T.dot(v, W) for W in Ws] + [T.dot(W.T, v) for W in Ws])
    text = th.debugprint(f, file="str")
    assert len(_ids(text, "Join")) == 1
    vv = rng.standard_normal(4)
    _assert_same_results(f, g, [vv], "float64")


def test_the_slices_follow_new_shapes_of_the_shared_weights():
    rng = np.random.default_rng(2)
    x = T.dmatrix("x")
    Ws = _weights(rng, [(3, 2), (3, 4)], "float64")
    f = th.function([x], [T.dot(x, W) for W in Ws])
    xv = rng.standard_normal((2, 3))
    Ws[0].set_value(rng.standard_normal((3, 5)))
    Ws[1].set_value(rng.standard_normal((3, 1)))
    y0, y1 = f(xv)
    np.testing.assert_allclose(y0, xv @ Ws[0].get_value())
    np.testing.assert_allclose(y1, xv @ Ws[1].get_value())


def test_a_kept_join_is_recomputed_after_an_update_of_a_weight():
    rng = np.random.default_rng(3)
    x = T.dmatrix("x")
    Ws = _weights(rng, [(3, 2), (3, 2)], "float64")
    f = th.function([x], [T.dot(x, W) for W in Ws])
    bump = th.function([], [], updates=[(Ws[1], Ws[1] * 2 + 1)])
    xv = rng.standard_normal((4, 3))
    for _ in range(3):
        y0, y1 = f(xv)
        np.testing.assert_allclose(y0, xv @ Ws[0].get_value())
        np.testing.assert_allclose(y1, xv @ Ws[1].get_value())
        bump()


def test_a_kept_join_sees_a_weight_written_through_its_borrowed_array():
    # get_value(borrow=True) hands out the shared variable's own memory; a
    # write through it must reach the next call, as in Theano.
    rng = np.random.default_rng(13)
    x = T.dmatrix("x")
    Ws = _weights(rng, [(3, 2), (3, 2)], "float64")
    f = th.function([x], [T.dot(x, W) for W in Ws])
    xv = rng.standard_normal((4, 3))
    f(xv)
    inside = Ws[1].get_value(borrow=True)
    for value in (0.5, -2.0):
        inside[...] = value
        y0, y1 = f(xv)
        np.testing.assert_allclose(y0, xv @ Ws[0].get_value())
        np.testing.assert_allclose(y1, xv @ np.full((3, 2), value))


def test_constant_weights_are_joined_at_compile_time():
    rng = np.random.default_rng(4)
    x = T.dmatrix("x")
    Wv = [rng.standard_normal((3, 2)), rng.standard_normal((3, 3))]
    f, g = _compile_both([x], [T.dot(x, T.constant(w)) for w in Wv])
    text = th.debugprint(f, file="str")
    assert len(_products(text)) == 1
    assert len(_ids(text, "Join")) == 0  # folded
    assert len(_subtensors(text)) == 2
    _assert_same_results(f, g, [rng.standard_normal((5, 3))], "float64")


def test_products_on_different_operands_are_left_alone():
    rng = np.random.default_rng(5)
    x, y = T.dmatrix("x"), T.dmatrix("y")
    Ws = _weights(rng, [(3, 2), (3, 2)], "float64")
    f, g = _compile_both([x, y], [T.dot(x, Ws[0]), T.dot(y, Ws[1])])
    text = th.debugprint(f, file="str")
    assert len(_products(text)) == 2
    assert "Join" not in text
    _assert_same_results(f, g, [rng.standard_normal((2, 3)), rng.standard_normal((4, 3))], "float64")


def test_weights_of_different_shapes_dtypes_or_dimensions_are_not_joined():
    rng = np.random.default_rng(6)
    x = T.dmatrix("x")
    rows_differ = _weights(rng, [(3, 2), (4, 2)], "float64")
    f = th.function([x], [T.dot(x, W) for W in rows_differ], on_unused_input="ignore")
    assert "Join" not in th.debugprint(f, file="str")
    dtypes_differ = [th.shared(rng.standard_normal((3, 2))),
                     th.shared(rng.standard_normal((3, 2)).astype("float32"))]
    f, g = _compile_both([x], [T.dot(x, W) for W in dtypes_differ])
    assert "Join" not in th.debugprint(f, file="str")
    _assert_same_results(f, g, [rng.standard_normal((2, 3))], "float64")
    vector_and_matrix = [th.shared(rng.standard_normal((3, 2))), th.shared(rng.standard_normal(3))]
    f, g = _compile_both([x], [T.dot(x, W) for W in vector_and_matrix])
    assert "Join" not in th.debugprint(f, file="str")
    _assert_same_results(f, g, [rng.standard_normal((2, 3))], "float64")


def test_weights_computed_per_call_from_inputs_are_not_joined():
    rng = np.random.default_rng(7)
    x, A, B = T.dmatrix("x"), T.dmatrix("A"), T.dmatrix("B")
    f, g = _compile_both([x, A, B], [T.dot(x, A), T.dot(x, B * 2)])
    text = th.debugprint(f, file="str")
    assert "Join" not in text
    assert len(_products(text)) == 2
    args = [rng.standard_normal((2, 3)), rng.standard_normal((3, 4)), rng.standard_normal((3, 5))]
    _assert_same_results(f, g, args, "float64")


def test_weights_the_function_itself_updates_are_not_joined():
    # Their Join would be recomputed on every call, copying all the weights.
    rng = np.random.default_rng(13)
    x = T.dmatrix("x")
    Ws = _weights(rng, [(3, 2), (3, 2)], "float64")
    cost = sum(T.dot(x, W).sum() for W in Ws)
    updates = [(W, W - 0.1 * gW) for W, gW in zip(Ws, T.grad(cost, Ws))]
    train = th.function([x], cost, updates=updates)
    assert "Join" not in th.debugprint(train, file="str")
    predict = th.function([x], [T.dot(x, W) for W in Ws])
    assert len(_ids(th.debugprint(predict, file="str"), "Join")) == 1
    xv = rng.standard_normal((4, 3))
    for _ in range(2):
        before = [W.get_value() for W in Ws]
        np.testing.assert_allclose(train(xv), sum((xv @ w).sum() for w in before))
        for got, W in zip(predict(xv), Ws):
            np.testing.assert_allclose(got, xv @ W.get_value())


def test_fast_compile_does_not_merge():
    rng = np.random.default_rng(8)
    x = T.dmatrix("x")
    Ws = _weights(rng, [(3, 2), (3, 2)], "float64")
    g = th.function([x], [T.dot(x, W) for W in Ws], mode="FAST_COMPILE")
    assert "Join" not in th.debugprint(g, file="str")


def _lstm_like_scan(Ws, U, dtype):
    X = T.matrix("X", dtype=dtype)
    h0 = T.vector("h0", dtype=dtype)

    def step(x_t, h, W_i, W_f, W_c, U):
        i = T.nnet.sigmoid(T.dot(x_t, W_i) + T.dot(h, U))
        f = T.nnet.sigmoid(T.dot(x_t, W_f))
        return f * h + i * T.tanh(T.dot(x_t, W_c))

    hs, _ = th.scan(step, sequences=X, outputs_info=h0, non_sequences=list(Ws) + [U])
    return X, h0, hs


@pytest.mark.parametrize("dtype", ["float32", "float64"])
def test_a_scan_body_s_products_on_the_step_input_become_one_product_before_the_loop(dtype):
    rng = np.random.default_rng(9)
    Ws = _weights(rng, [(5, 4)] * 3, dtype)
    U = th.shared(rng.standard_normal((4, 4)).astype(dtype), name="U")
    X, h0, hs = _lstm_like_scan(Ws, U, dtype)
    f, g = _compile_both([X, h0], hs)
    outer, inner = _outer_and_inner(th.debugprint(f, file="str"))
    # The products of X[t] move out of the loop as products of the whole of
    # X, which the merge makes one product of X and the Join; only the
    # product on the state (a Gemv) stays in the loop.
    assert len(_ids(outer, "Join")) == 1
    assert len(re.findall(r"Dot22 \[id \w+\] ''\s*\d*\s*\n [ |]*\|X \[id", outer)) == 1
    assert "Join" not in inner
    assert len(_products(inner)) + len(_ids(inner, "Gemv{no_inplace}")) == 1
    assert "X[t]" not in inner
    assert len(_subtensors(outer)) == 3
    _, g_inner = _outer_and_inner(th.debugprint(g, file="str"))
    assert len(_ids(g_inner, "dot")) == 4
    for steps in (6, 1):
        args = [rng.standard_normal((steps, 5)).astype(dtype), rng.standard_normal(4).astype(dtype)]
        _assert_same_results(f, g, args, dtype)


def test_the_gradient_of_a_merged_scan_equals_the_unmerged_one():
    rng = np.random.default_rng(10)
    Ws = _weights(rng, [(5, 4)] * 3, "float64")
    U = th.shared(rng.standard_normal((4, 4)), name="U")
    X, h0, hs = _lstm_like_scan(Ws, U, "float64")
    grads = T.grad((hs ** 2).sum(), Ws + [U, X])
    f, g = _compile_both([X, h0], grads)
    args = [rng.standard_normal((5, 5)), rng.standard_normal(4)]
    _assert_same_results(f, g, args, "float64")


def test_gradients_through_merged_products_match_finite_differences():
    rng = np.random.RandomState(11)
    Wv = [rng.standard_normal((4, 3)), rng.standard_normal((4, 2)), rng.standard_normal((4, 3))]
    Ws = [th.shared(w) for w in Wv]

    def fun(x):
        return T.tanh(T.dot(x, Ws[0])).sum(axis=1) * T.dot(x, Ws[1]).sum(axis=1) + T.dot(x, Ws[2])[:, 0]

    verify_grad(fun, [rng.standard_normal((5, 4))], rng=rng)


def test_gradients_through_a_merged_scan_body_match_finite_differences():
    rng = np.random.RandomState(12)

    def fun(X, W_a, W_b, U):
        def step(x_t, h, W_a, W_b, U):
            return T.tanh(T.dot(x_t, W_a) + T.dot(h, U)) * T.nnet.sigmoid(T.dot(x_t, W_b))

        hs, _ = th.scan(step, sequences=X, outputs_info=T.zeros((3,), dtype="float64"),
                        non_sequences=[W_a, W_b, U])
        return hs

    pt = [rng.standard_normal((4, 2)), rng.standard_normal((2, 3)), rng.standard_normal((2, 3)),
          rng.standard_normal((3, 3)) * 0.5]
    verify_grad(fun, pt, rng=rng)
