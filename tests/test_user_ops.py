"""Ops written in Python (`th.Op` subclasses) inside graphs and functions."""

import numpy as np
import pytest

import rtensor as th
import rtensor.tensor as T


class DoubleOp(th.Op):
    __props__ = ()

    def make_node(self, x):
        x = T.as_tensor_variable(x)
        return th.Apply(self, [x], [x.type()])

    def perform(self, node, inputs, output_storage):
        output_storage[0][0] = inputs[0] * 2

    def grad(self, inputs, output_grads):
        return [output_grads[0] * 2]


class ScaleOp(th.Op):
    __props__ = ("factor",)

    def __init__(self, factor):
        self.factor = factor

    def make_node(self, x):
        x = T.as_tensor_variable(x)
        return th.Apply(self, [x], [x.type()])

    def perform(self, node, inputs, output_storage):
        output_storage[0][0] = np.asarray(inputs[0] * self.factor, dtype=node.outputs[0].dtype)


class SplitSignOp(th.Op):
    """Two outputs: the positive and the negative part."""

    __props__ = ()

    def make_node(self, x):
        x = T.as_tensor_variable(x)
        return th.Apply(self, [x], [x.type(), x.type()])

    def perform(self, node, inputs, output_storage):
        x = inputs[0]
        output_storage[0][0] = np.maximum(x, 0)
        output_storage[1][0] = np.minimum(x, 0)


def test_a_python_op_computes_inside_a_compiled_function():
    x = T.dvector("x")
    f = th.function([x], DoubleOp()(x) + 1)
    v = np.random.RandomState(0).randn(7)
    np.testing.assert_allclose(f(v), v * 2 + 1)


def test_a_python_op_with_props_shows_them_and_keeps_the_output_dtype():
    x = T.fmatrix("x")
    y = ScaleOp(3)(x)
    assert y.dtype == "float32"
    assert str(y.owner.op) == "ScaleOp{factor=3}"
    f = th.function([x], y)
    v = np.arange(6, dtype="float32").reshape(2, 3)
    out = f(v)
    assert out.dtype == np.float32
    np.testing.assert_array_equal(out, v * 3)
    assert "ScaleOp{factor=3}" in th.printing.debugprint(f, file="str")


def test_equal_props_make_equal_ops_and_different_props_do_not():
    assert ScaleOp(2) == ScaleOp(2) and hash(ScaleOp(2)) == hash(ScaleOp(2))
    assert ScaleOp(2) != ScaleOp(3)


def test_two_applications_of_equal_python_ops_are_merged():
    x = T.dvector("x")
    f = th.function([x], ScaleOp(2)(x) + ScaleOp(2)(x))
    names = [n for n in f.toposort() if n.startswith("ScaleOp")]
    assert len(names) == 1
    np.testing.assert_allclose(f(np.arange(3.0)), np.arange(3.0) * 4)


def test_a_python_op_with_two_outputs_returns_both():
    x = T.dvector("x")
    pos, neg = SplitSignOp()(x)
    f = th.function([x], [pos, neg])
    v = np.array([-2.0, 0.5, 3.0])
    a, b = f(v)
    np.testing.assert_array_equal(a, np.maximum(v, 0))
    np.testing.assert_array_equal(b, np.minimum(v, 0))


def test_the_owner_of_a_python_op_output_is_the_op_itself():
    x = T.dvector("x")
    op = DoubleOp()
    y = op(x)
    assert y.owner.op is op
    assert y.owner.inputs[0] is x or y.owner.inputs[0] == x


def test_a_python_op_that_stores_the_wrong_dtype_gets_an_error_naming_it():
    class Wrong(DoubleOp):
        def perform(self, node, inputs, output_storage):
            output_storage[0][0] = inputs[0].astype("float32")

    x = T.dvector("x")
    f = th.function([x], Wrong()(x))
    with pytest.raises(TypeError, match="Wrong.perform stored a value of dtype float32"):
        f(np.arange(3.0))


def test_a_python_op_that_stores_nothing_gets_an_error():
    class Lazy(DoubleOp):
        def perform(self, node, inputs, output_storage):
            pass

    x = T.dvector("x")
    with pytest.raises(RuntimeError, match="did not store output 0"):
        th.function([x], Lazy()(x))(np.arange(3.0))


def test_an_exception_in_perform_reaches_the_caller_unchanged():
    class Failing(DoubleOp):
        def perform(self, node, inputs, output_storage):
            raise KeyError("my own failure")

    x = T.dvector("x")
    f = th.function([x], Failing()(x))
    with pytest.raises(KeyError, match="my own failure"):
        f(np.arange(3.0))


def test_a_failing_python_op_leaves_the_shared_values_unchanged():
    class Failing(DoubleOp):
        def perform(self, node, inputs, output_storage):
            raise ValueError("no")

    s = th.shared(np.arange(3.0))
    f = th.function([], Failing()(s), updates=[(s, s + 1)])
    with pytest.raises(ValueError):
        f()
    np.testing.assert_array_equal(s.get_value(), np.arange(3.0))


def test_perform_gets_read_only_inputs_so_it_cannot_corrupt_a_shared_value():
    class Sneaky(DoubleOp):
        def perform(self, node, inputs, output_storage):
            inputs[0][0] = 99.0
            output_storage[0][0] = inputs[0]

    s = th.shared(np.arange(3.0))
    f = th.function([], Sneaky()(s))
    with pytest.raises(ValueError, match="read-only"):
        f()
    np.testing.assert_array_equal(s.get_value(), np.arange(3.0))


def test_an_op_that_declares_destroy_map_may_overwrite_its_input_without_harm():
    class InplaceDouble(DoubleOp):
        destroy_map = {0: [0]}

        def perform(self, node, inputs, output_storage):
            inputs[0] *= 2
            output_storage[0][0] = inputs[0]

    s = th.shared(np.arange(3.0))
    f = th.function([], InplaceDouble()(s))
    np.testing.assert_array_equal(f(), np.arange(3.0) * 2)
    np.testing.assert_array_equal(s.get_value(), np.arange(3.0))


def test_an_undeclared_alias_of_an_input_is_copied_outside_debugmode():
    class ReturnsInput(DoubleOp):
        def perform(self, node, inputs, output_storage):
            output_storage[0][0] = inputs[0]

    s = th.shared(np.arange(3.0))
    f = th.function([], ReturnsInput()(s), updates=[(s, s + 1)])
    out = f()
    np.testing.assert_array_equal(out, np.arange(3.0))
    assert not np.shares_memory(out, s.get_value(borrow=True))


def test_the_gradient_of_a_python_op_uses_its_grad_method():
    if not hasattr(T, "grad"):
        pytest.skip("T.grad is not available in this build")
    x = T.dvector("x")
    cost = DoubleOp()(x).sum()
    g = th.function([x], T.grad(cost, x))
    np.testing.assert_allclose(g(np.arange(3.0)), [2.0, 2.0, 2.0])
