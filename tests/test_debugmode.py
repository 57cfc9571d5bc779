"""mode='DebugMode': each op's declarations and each node's value are checked."""

import numpy as np
import pytest

import rtensor as th
import rtensor.tensor as T
from rtensor.compile.debugmode import BadDestroyMap, BadOptimization, BadViewMap, DebugMode, DebugModeError


class UnaryOp(th.Op):
    __props__ = ()

    def make_node(self, x):
        x = T.as_tensor_variable(x)
        return th.Apply(self, [x], [x.type()])


class WritesItsInput(UnaryOp):
    def perform(self, node, inputs, output_storage):
        inputs[0] += 1
        output_storage[0][0] = inputs[0].copy()


class ReturnsItsInput(UnaryOp):
    def perform(self, node, inputs, output_storage):
        output_storage[0][0] = inputs[0]


class DeclaredView(UnaryOp):
    view_map = {0: [0]}

    def perform(self, node, inputs, output_storage):
        output_storage[0][0] = inputs[0][::-1]


class DeclaredDestroy(UnaryOp):
    destroy_map = {0: [0]}

    def perform(self, node, inputs, output_storage):
        inputs[0] *= 3
        output_storage[0][0] = inputs[0]


class FlipsEachCall(UnaryOp):
    """Gives x on one call and -x on the next: the unrewritten and the
    compiled graphs of one DebugMode call see different values."""

    calls = 0

    def perform(self, node, inputs, output_storage):
        FlipsEachCall.calls += 1
        sign = 1.0 if FlipsEachCall.calls % 2 else -1.0
        output_storage[0][0] = inputs[0] * sign


def test_debugmode_catches_an_op_that_writes_its_input_without_declaring_it():
    x = T.dvector("x")
    f = th.function([x], WritesItsInput()(x), mode="DebugMode")
    with pytest.raises(BadDestroyMap, match="WritesItsInput"):
        f(np.arange(3.0))


def test_debugmode_catches_an_op_that_returns_its_input_without_declaring_a_view():
    x = T.dvector("x")
    f = th.function([x], ReturnsItsInput()(x) * 2, mode=DebugMode())
    with pytest.raises(BadViewMap, match="ReturnsItsInput"):
        f(np.arange(3.0))


def test_debugmode_errors_are_debugmode_errors():
    assert issubclass(BadDestroyMap, DebugModeError)
    assert issubclass(BadViewMap, DebugModeError)
    assert issubclass(BadOptimization, DebugModeError)


def test_declared_views_and_destroys_pass_debugmode():
    x = T.dvector("x")
    f = th.function([x], [DeclaredView()(x) + 0, DeclaredDestroy()(x * 1)], mode="DebugMode")
    v = np.arange(4.0)
    a, b = f(v)
    np.testing.assert_array_equal(a, v[::-1])
    np.testing.assert_array_equal(b, v * 3)
    np.testing.assert_array_equal(v, np.arange(4.0))


def test_debugmode_compares_each_node_with_the_unrewritten_graph():
    x = T.dvector("x")
    f = th.function([x], FlipsEachCall()(x) + 1, mode="DebugMode")
    with pytest.raises(BadOptimization, match="FlipsEachCall"):
        f(np.arange(1.0, 4.0))


def test_the_seed_graphs_give_the_same_results_under_debugmode_and_fast_run():
    rng = np.random.RandomState(3)
    X = th.shared(rng.randn(10, 3))
    W = th.shared(rng.randn(3, 2))
    i = T.lscalar("i")
    x = T.dmatrix("x")
    y = T.tanh(T.dot(x, W) * 2 + 1).sum(axis=1) - x.mean()
    outs = {}
    for mode in ("FAST_RUN", "DebugMode"):
        f = th.function([i], y, givens={x: X[i:i + 5]}, mode=mode)
        outs[mode] = [f(k) for k in range(3)]
    for a, b in zip(outs["FAST_RUN"], outs["DebugMode"]):
        np.testing.assert_allclose(a, b)


def test_a_failing_debugmode_call_applies_no_update():
    s = th.shared(np.arange(3.0))
    f = th.function([], ReturnsItsInput()(s) * 2, updates=[(s, s + 1)], mode="DebugMode")
    with pytest.raises(BadViewMap):
        f()
    np.testing.assert_array_equal(s.get_value(), np.arange(3.0))


def test_updates_under_debugmode_are_applied_as_in_fast_run():
    s = th.shared(np.arange(3.0))
    t = th.shared(np.ones(3))
    f = th.function([], s.sum(), updates=[(s, s + t), (t, t * 2)], mode="DebugMode")
    assert f() == 3.0
    np.testing.assert_array_equal(s.get_value(), np.arange(3.0) + 1)
    np.testing.assert_array_equal(t.get_value(), np.ones(3) * 2)
