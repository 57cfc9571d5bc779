"""Graphs, shared variables and compiled functions survive pickle and
copy.deepcopy (SPEC §12)."""

import copy
import pickle

import numpy as np
import pytest

import rtensor as th
import rtensor.tensor as T


def roundtrip(obj):
    return pickle.loads(pickle.dumps(obj, protocol=pickle.HIGHEST_PROTOCOL))


class Model:
    """A tutorial-style object holding parameters and compiled functions."""

    def __init__(self, rng):
        self.W = th.shared(rng.randn(4, 3), name="W")
        self.b = th.shared(np.zeros(3), name="b")
        x = T.dmatrix("x")
        self.out = T.tanh(T.dot(x, self.W) + self.b)
        self.predict = th.function([x], self.out)
        self.step = th.function([x], self.out.sum(), updates=[(self.W, self.W * 0.5), (self.b, self.b + 1)])


def test_a_shared_variable_keeps_its_value_name_and_type():
    s = th.shared(np.arange(6, dtype="float32").reshape(2, 3), name="s", broadcastable=(False, False))
    s2 = roundtrip(s)
    assert s2.name == "s" and s2.type == s.type
    np.testing.assert_array_equal(s2.get_value(), s.get_value())
    s2.set_value(np.zeros((2, 3), dtype="float32"))
    assert s.get_value().sum() == 15


def test_a_loaded_graph_compiles_and_gives_the_same_values():
    rng = np.random.RandomState(0)
    x = T.dmatrix("x")
    W = th.shared(rng.randn(3, 2), name="W")
    y = (T.tanh(T.dot(x, W))[1:3] * 2 + 1).sum(axis=0)
    x2, y2 = roundtrip((x, y))
    v = rng.randn(4, 3)
    np.testing.assert_allclose(th.function([x2], y2)(v), th.function([x], y)(v))
    assert th.printing.debugprint(y2, file="str") == th.printing.debugprint(y, file="str")


def test_variables_pickled_together_keep_their_identity():
    x = T.dvector("x")
    y = x * 2
    z = y + x
    x2, y2, z2 = roundtrip((x, y, z))
    assert z2.owner.inputs[1] is x2 or z2.owner.inputs[0] is x2
    f = th.function([x2], [y2, z2])
    a, b = f(np.arange(3.0))
    np.testing.assert_array_equal(b, np.arange(3.0) * 3)


def test_a_default_update_that_refers_to_its_own_variable_survives():
    c = th.shared(np.asarray(0, dtype="int64"), name="c")
    c.default_update = c + 1
    c2 = roundtrip(c)
    f = th.function([], c2 * 10)
    assert f() == 0 and f() == 10
    assert int(c2.get_value()) == 2


def test_a_loaded_function_runs_with_its_shared_values():
    rng = np.random.RandomState(1)
    m = Model(rng)
    v = rng.randn(5, 4)
    m.step(v)
    m2 = roundtrip(m)
    np.testing.assert_allclose(m2.predict(v), m.predict(v))
    m2.step(v)
    # The loaded function updates the loaded parameters, not the originals.
    np.testing.assert_allclose(m2.W.get_value(), m.W.get_value() * 0.5)
    np.testing.assert_allclose(m2.b.get_value(), m.b.get_value() + 1)


def test_deepcopy_of_an_object_with_functions_gives_an_independent_copy():
    rng = np.random.RandomState(2)
    m = Model(rng)
    v = rng.randn(2, 4)
    m3 = copy.deepcopy(m)
    m3.step(v)
    np.testing.assert_allclose(m3.W.get_value(), m.W.get_value() * 0.5)
    np.testing.assert_allclose(m3.predict(v), np.tanh(v @ m3.W.get_value() + m3.b.get_value()))


def test_a_function_with_givens_and_defaults_survives_pickle():
    data = th.shared(np.arange(20.0).reshape(10, 2), name="data")
    i = T.lscalar("i")
    x = T.dmatrix("x")
    scale = T.dscalar("scale")
    f = th.function([i, th.In(scale, value=2.0)], (x * scale).sum(), givens={x: data[i * 2:(i + 1) * 2]})
    f2 = roundtrip(f)
    assert f2(1) == f(1) == (np.arange(4.0, 8.0) * 2).sum()
    assert f2(1, 3.0) == f(1, 3.0)


def test_a_graph_with_a_python_op_survives_pickle():
    y2 = roundtrip(_double_graph())
    x2 = y2.owner.inputs[0].owner.inputs[0]
    np.testing.assert_array_equal(th.function([x2], y2)(np.arange(3.0)), np.arange(3.0) * 2 + 1)


class PicklableDouble(th.Op):
    __props__ = ()

    def make_node(self, x):
        x = T.as_tensor_variable(x)
        return th.Apply(self, [x], [x.type()])

    def perform(self, node, inputs, output_storage):
        output_storage[0][0] = inputs[0] * 2


def _double_graph():
    x = T.dvector("x")
    return PicklableDouble()(x) + 1
