"""The merge of summed products (`merge_shared_operand_products`, FAST_RUN):
when two groups of products sharing an operand are only ever added product to
product, as an LSTM's gates add `dot(x, W_i) + dot(h, U_i)`, the sums become
slices of one `dot(x, Join(W_i)) + dot(h, Join(U_i))`, which the gemm rewrite
makes one Gemm accumulating into the other product: the graph of the
hand-merged LSTM. An `Assert` checks that each W_i and U_i have one length
along the joined axis, which the separate sums needed. Results equal the
unmerged graph's (FAST_COMPILE) and NumPy's."""
import re

import numpy as np
import pytest

import rtensor as th

T = th.tensor

GATES = "ifoc"


def _ids(text, op):
    return set(re.findall(r"(?:^|[ |>])%s \[id (\w+)\]" % re.escape(op), text, re.M))


def _shared(rng, shape, dtype, name):
    return th.shared((rng.standard_normal(shape) / np.sqrt(shape[0])).astype(dtype), name=name)


def _lstm_step(rng, n_in, n_h, dtype):
    """One LSTM step with the state in shared variables and one product per
    gate and operand; returns the step function, its FAST_COMPILE twin, the
    state and the weights."""
    x = T.matrix("x", dtype=dtype)
    Ws = [_shared(rng, (n_in, n_h), dtype, "W_" + g) for g in GATES]
    Us = [_shared(rng, (n_h, n_h), dtype, "U_" + g) for g in GATES]
    bs = [th.shared(rng.standard_normal(n_h).astype(dtype), name="b_" + g) for g in GATES]
    states = {}

    def compile_step(mode):
        h = th.shared(np.zeros((3, n_h), dtype), name="h")
        c = th.shared(np.zeros((3, n_h), dtype), name="c")
        i, f, o, g = [T.dot(x, W) + T.dot(h, U) + b for W, U, b in zip(Ws, Us, bs)]
        c_new = T.nnet.sigmoid(f) * c + T.nnet.sigmoid(i) * T.tanh(g)
        h_new = T.nnet.sigmoid(o) * T.tanh(c_new)
        states[mode] = (h, c)
        return th.function([x], h_new.sum(), updates=[(h, h_new), (c, c_new)], mode=mode)

    return compile_step("FAST_RUN"), compile_step("FAST_COMPILE"), states, Ws, Us, bs


def _numpy_lstm_step(xv, h, c, Ws, Us, bs):
    def sigmoid(v):
        return 1 / (1 + np.exp(-v))

    i, f, o, g = [xv @ W.get_value() + h @ U.get_value() + b.get_value()
                  for W, U, b in zip(Ws, Us, bs)]
    c = sigmoid(f) * c + sigmoid(i) * np.tanh(g)
    return sigmoid(o) * np.tanh(c), c


@pytest.mark.parametrize("dtype", ["float32", "float64"])
def test_an_lstm_step_s_gate_sums_become_slices_of_one_gemm(dtype):
    rng = np.random.default_rng(1)
    fast, slow, states, Ws, Us, bs = _lstm_step(rng, 5, 4, dtype)
    text = th.debugprint(fast, file="str")
    assert len(_ids(text, "Gemm{inplace}")) == 1
    assert len(_ids(text, "Dot22")) == 1
    assert len(_ids(text, "Join")) == 2
    assert len(_ids(text, "Assert{msg='merged sums dot(x, W_i) + dot(h, U_i): W_i and U_i differ "
                               "in length along axis 1'}")) == 1
    assert len(re.findall(r"Subtensor\{::, [^}]*\} \[id \w+\] ''\s*\d*\n [ |]*\|Assert", text)) == 4
    assert len(_ids(th.debugprint(slow, file="str"), "dot")) == 8
    tol = 1e-5 if dtype == "float32" else 1e-12
    h_np, c_np = np.zeros((3, 4)), np.zeros((3, 4))
    for _ in range(4):
        xv = rng.standard_normal((3, 5)).astype(dtype)
        np.testing.assert_allclose(fast(xv), slow(xv), rtol=tol, atol=tol)
        h_np, c_np = _numpy_lstm_step(xv, h_np, c_np, Ws, Us, bs)
        for (h, c) in states.values():
            np.testing.assert_allclose(h.get_value(), h_np, rtol=tol, atol=tol)
            np.testing.assert_allclose(c.get_value(), c_np, rtol=tol, atol=tol)


def test_the_mirrored_sums_of_row_products_are_merged_along_the_rows():
    rng = np.random.default_rng(2)
    v, u = T.dvector("v"), T.dvector("u")
    Ws = [_shared(rng, (3 + k, 6), "float64", "W%d" % k) for k in range(3)]
    Us = [_shared(rng, (3 + k, 2), "float64", "U%d" % k) for k in range(3)]
    outs = [T.tanh(T.dot(W, v) + T.dot(U, u)) for W, U in zip(Ws, Us)]
    fast = th.function([v, u], outs)
    slow = th.function([v, u], outs, mode="FAST_COMPILE")
    text = th.debugprint(fast, file="str")
    assert len(_ids(text, "Join")) == 2
    assert "along axis 0'}" in text
    vv, uv = rng.standard_normal(6), rng.standard_normal(2)
    for a, b, W, U in zip(fast(vv, uv), slow(vv, uv), Ws, Us):
        np.testing.assert_allclose(a, b, rtol=1e-12, atol=1e-12)
        np.testing.assert_allclose(a, np.tanh(W.get_value() @ vv + U.get_value() @ uv))


def test_weights_set_to_unequal_widths_raise_an_assertion_error_and_update_nothing():
    rng = np.random.default_rng(3)
    x, h = T.dmatrix("x"), T.dmatrix("h")
    Ws = [_shared(rng, (3, 2), "float64", "W%d" % k) for k in range(2)]
    Us = [_shared(rng, (4, 2), "float64", "U%d" % k) for k in range(2)]
    count = th.shared(np.int64(0), name="count")
    f = th.function([x, h], [T.dot(x, W) + T.dot(h, U) for W, U in zip(Ws, Us)],
                    updates=[(count, count + 1)])
    assert "Assert" in th.debugprint(f, file="str")
    xv, hv = rng.standard_normal((2, 3)), rng.standard_normal((2, 4))
    # The totals agree (3 + 5 == 5 + 3) but the pairs do not: the separate
    # sums could not be computed, so neither can the merged one.
    Ws[0].set_value(rng.standard_normal((3, 3)))
    Ws[1].set_value(rng.standard_normal((3, 5)))
    Us[0].set_value(rng.standard_normal((4, 5)))
    Us[1].set_value(rng.standard_normal((4, 3)))
    with pytest.raises(AssertionError, match=r"W_i and U_i differ in length along axis 1: "
                                             r"condition 0 of 1 is false"):
        f(xv, hv)
    assert count.get_value() == 0
    Us[0].set_value(rng.standard_normal((4, 3)))
    Us[1].set_value(rng.standard_normal((4, 5)))
    for y, W, U in zip(f(xv, hv), Ws, Us):
        np.testing.assert_allclose(y, xv @ W.get_value() + hv @ U.get_value())
    assert count.get_value() == 1


def test_a_product_read_outside_its_sum_keeps_the_plain_merge_of_each_group():
    rng = np.random.default_rng(4)
    x, h = T.dmatrix("x"), T.dmatrix("h")
    Ws = [_shared(rng, (3, 2), "float64", "W%d" % k) for k in range(2)]
    Us = [_shared(rng, (4, 2), "float64", "U%d" % k) for k in range(2)]
    outs = [T.dot(x, W) + T.dot(h, U) for W, U in zip(Ws, Us)] + [T.dot(x, Ws[0]) * 2]
    fast = th.function([x, h], outs)
    slow = th.function([x, h], outs, mode="FAST_COMPILE")
    text = th.debugprint(fast, file="str")
    assert "Assert" not in text
    assert len(_ids(text, "Join")) == 2
    xv, hv = rng.standard_normal((5, 3)), rng.standard_normal((5, 4))
    for a, b in zip(fast(xv, hv), slow(xv, hv)):
        np.testing.assert_allclose(a, b, rtol=1e-12, atol=1e-12)


def test_sums_whose_partners_belong_to_different_groups_are_not_merged_as_pairs():
    rng = np.random.default_rng(5)
    x, h, g = T.dmatrix("x"), T.dmatrix("h"), T.dmatrix("g")
    Ws = [_shared(rng, (3, 2), "float64", "W%d" % k) for k in range(2)]
    Us = [_shared(rng, (4, 2), "float64", "U%d" % k) for k in range(2)]
    outs = [T.dot(x, Ws[0]) + T.dot(h, Us[0]), T.dot(x, Ws[1]) + T.dot(g, Us[1])]
    fast = th.function([x, h, g], outs)
    slow = th.function([x, h, g], outs, mode="FAST_COMPILE")
    text = th.debugprint(fast, file="str")
    assert "Assert" not in text
    assert len(_ids(text, "Join")) == 1
    args = [rng.standard_normal((5, 3)), rng.standard_normal((5, 4)), rng.standard_normal((5, 4))]
    for a, b in zip(fast(*args), slow(*args)):
        np.testing.assert_allclose(a, b, rtol=1e-12, atol=1e-12)


def test_gradients_through_merged_sums_equal_the_unmerged_graph_s():
    rng = np.random.default_rng(6)
    x, h = T.dmatrix("x"), T.dmatrix("h")
    Ws = [_shared(rng, (3, 2 + k), "float64", "W%d" % k) for k in range(3)]
    Us = [_shared(rng, (4, 2 + k), "float64", "U%d" % k) for k in range(3)]
    cost = sum((T.tanh(T.dot(x, W) + T.dot(h, U)) ** 2).sum() * (k + 1)
               for k, (W, U) in enumerate(zip(Ws, Us)))
    grads = T.grad(cost, Ws + Us + [x, h])
    fast = th.function([x, h], grads)
    slow = th.function([x, h], grads, mode="FAST_COMPILE")
    assert "Assert" in th.debugprint(fast, file="str")
    xv, hv = rng.standard_normal((5, 3)), rng.standard_normal((5, 4))
    for a, b in zip(fast(xv, hv), slow(xv, hv)):
        np.testing.assert_allclose(a, b, rtol=1e-10, atol=1e-12)


def test_a_scan_body_adding_products_of_its_two_states_makes_one_gemm_per_step():
    rng = np.random.default_rng(7)
    Ws = [_shared(rng, (4, 4), "float64", "W%d" % k) for k in range(2)]
    Us = [_shared(rng, (4, 4), "float64", "U%d" % k) for k in range(2)]
    a0, b0 = T.dmatrix("a0"), T.dmatrix("b0")

    def step(a, b, W0, W1, U0, U1):
        return (T.tanh(T.dot(a, W0) + T.dot(b, U0)),
                T.nnet.sigmoid(T.dot(a, W1) + T.dot(b, U1)))

    (as_, bs_), _ = th.scan(step, outputs_info=[a0, b0], non_sequences=Ws + Us, n_steps=5)
    fast = th.function([a0, b0], [as_, bs_])
    slow = th.function([a0, b0], [as_, bs_], mode="FAST_COMPILE")
    outer, _, inner = th.debugprint(fast, file="str").partition("Inner graphs of the scan ops:")
    assert len(_ids(outer, "Join")) == 2
    assert "Join" not in inner
    assert "Assert" in inner
    assert len(_ids(inner, "Gemm{inplace}") | _ids(inner, "Gemm{no_inplace}")) == 1
    args = [rng.standard_normal((2, 4)), rng.standard_normal((2, 4))]
    for x, y in zip(fast(*args), slow(*args)):
        np.testing.assert_allclose(x, y, rtol=1e-12, atol=1e-12)
