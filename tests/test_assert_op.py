"""`T.opt.Assert(msg)(x, *conditions)` (Theano's `theano.tensor.opt.Assert`):
`x` itself while every 0-d condition is non-zero, an `AssertionError` with the
message when one is not. Rewrites guard results that are only valid when
shapes agree at run time with it; FAST_RUN drops conditions that are
constants known to hold."""
import pickle

import numpy as np
import pytest

import rtensor as th

T = th.tensor


def _at_least(x, n, msg="x is too short"):
    return T.opt.Assert(msg)(x, T.ge(x.shape[0], n))


def test_a_holding_condition_passes_the_value_through_unchanged():
    x, n = T.dvector("x"), T.lscalar("n")
    f = th.function([x, n], _at_least(x, n) * 2)
    xv = np.array([1.5, -2.0, 3.0])
    np.testing.assert_array_equal(f(xv, 3), xv * 2)
    np.testing.assert_array_equal(f(xv, 0), xv * 2)


def test_a_failing_condition_raises_the_message_and_applies_no_update():
    x, n = T.dvector("x"), T.lscalar("n")
    total = th.shared(np.float64(10.0), name="total")
    f = th.function([x, n], _at_least(x, n).sum(), updates=[(total, total + x.sum())])
    with pytest.raises(AssertionError, match=r"x is too short: condition 0 of 1 is false .*\[2\]"):
        f(np.array([1.0, 2.0]), 3)
    assert total.get_value() == 10.0
    assert f(np.array([1.0, 2.0]), 2) == 3.0
    assert total.get_value() == 13.0


def test_every_condition_is_checked_and_the_first_failing_one_is_named():
    x = T.dvector("x")
    a, b = T.lscalar("a"), T.lscalar("b")
    f = th.function([x, a, b], T.opt.assert_op(x, a, b))
    np.testing.assert_array_equal(f(np.ones(2), 1, -4), np.ones(2))
    with pytest.raises(AssertionError, match=r"Theano Assert failed!: condition 1 of 2"):
        f(np.ones(2), 1, 0)
    with pytest.raises(AssertionError, match=r"condition 0 of 2"):
        f(np.ones(2), 0, 0)


def test_a_condition_that_is_not_0d_is_a_type_error_naming_the_op():
    x = T.dvector("x")
    with pytest.raises(TypeError, match=r"Assert\{msg='m'\}: condition 0 must be a 0-d tensor"):
        T.opt.Assert("m")(x, x)


def test_the_gradient_passes_through_to_the_value():
    x, n = T.dvector("x"), T.lscalar("n")
    g = th.function([x, n], T.grad((_at_least(x, n) ** 2).sum(), x))
    xv = np.array([0.5, -1.0, 2.0])
    np.testing.assert_allclose(g(xv, 1), 2 * xv)
    with pytest.raises(AssertionError):
        g(xv, 4)


def test_fast_run_drops_conditions_known_to_hold_and_fast_compile_keeps_them():
    x, n = T.dvector("x"), T.lscalar("n")
    y = T.opt.Assert("m")(x, T.constant(1), T.ge(x.shape[0], n))
    fast = th.debugprint(th.function([x, n], y * 3), file="str")
    assert "Assert{msg='m'}" in fast
    assert "TensorConstant{1}" not in fast
    assert "Assert" not in th.debugprint(th.function([x], T.opt.Assert("m")(x, T.constant(2)) * 3),
                                         file="str")
    slow = th.debugprint(th.function([x, n], y * 3, mode="FAST_COMPILE"), file="str")
    assert "TensorConstant{1}" in slow


def test_a_constant_false_condition_raises_when_called_not_when_compiled():
    x = T.dvector("x")
    f = th.function([x], T.opt.Assert("never")(x, T.constant(0)) + 1)
    with pytest.raises(AssertionError, match="never"):
        f(np.zeros(2))


def test_a_function_with_an_assert_pickles_with_its_message():
    x, n = T.dvector("x"), T.lscalar("n")
    f = pickle.loads(pickle.dumps(th.function([x, n], _at_least(x, n, "kept message") + 1)))
    np.testing.assert_array_equal(f(np.zeros(2), 2), np.ones(2))
    with pytest.raises(AssertionError, match="kept message"):
        f(np.zeros(2), 3)
