"""SPEC 2: shared variables (value -> type, memory model, set_value, default_update)."""
import numpy as np
import pytest

import rtensor as th

T = th.tensor


# ---------------------------------------------------------------------------
# 2.1 value -> type
# ---------------------------------------------------------------------------

@pytest.mark.parametrize("dtype", ["float32", "float64", "int8", "int32", "int64", "uint8", "bool"])
@pytest.mark.parametrize("shape", [(3,), (2, 4), (1, 3), (2, 1, 3)])
def test_shared_ndarray_keeps_dtype_and_has_no_broadcastable_dims(dtype, shape, rng):
    value = (rng.rand(*shape) * 10).astype(dtype)
    s = th.shared(value)
    assert s.dtype == dtype
    assert s.ndim == len(shape)
    assert tuple(s.broadcastable) == (False,) * len(shape)
    out = s.get_value()
    assert out.dtype == np.dtype(dtype)
    np.testing.assert_array_equal(out, value)


def test_shared_matrix_type_prints_as_matrix_even_with_unit_dim():
    s = th.shared(np.zeros((1, 3), dtype="float32"))
    assert str(s.type) == "TensorType(float32, matrix)"


def test_shared_broadcastable_argument_sets_the_pattern():
    s = th.shared(np.zeros((1, 3)), broadcastable=(True, False))
    assert tuple(s.broadcastable) == (True, False)
    assert str(s.type) == "TensorType(float64, row)"
    m = T.dmatrix("m")
    f = th.function([m], m + s)
    mv = np.arange(6.0).reshape(2, 3)
    np.testing.assert_array_equal(f(mv), mv)


def test_shared_python_int_is_int64_scalar():
    s = th.shared(7)
    assert s.dtype == "int64"
    assert s.ndim == 0
    v = s.get_value()
    assert isinstance(v, np.ndarray) and v.dtype == np.int64 and int(v) == 7


@pytest.mark.parametrize("floatX", ["float64", "float32"])
def test_shared_python_float_is_float64_whatever_floatX(floatX):
    th.config.floatX = floatX
    s = th.shared(0.5)
    assert s.dtype == "float64"
    assert s.ndim == 0
    assert float(s.get_value()) == 0.5


@pytest.mark.parametrize("value,dtype", [(np.float32(1.25), "float32"), (np.int16(3), "int16"),
                                         (np.uint8(200), "uint8"), (np.float64(2.5), "float64")])
def test_shared_numpy_scalar_keeps_its_dtype(value, dtype):
    s = th.shared(value)
    assert s.dtype == dtype
    assert s.ndim == 0
    assert s.get_value() == value


def test_shared_python_bool_is_bool_scalar():
    s = th.shared(True)
    assert s.dtype == "bool"
    assert s.ndim == 0
    assert bool(s.get_value()) is True


@pytest.mark.parametrize("value", [[1.0, 2.0], {"a": 1}, "text", object()])
def test_shared_of_a_non_tensor_value_raises_type_error(value):
    with pytest.raises(TypeError):
        th.shared(value)


def test_shared_name_is_its_str():
    s = th.shared(np.zeros(2), name="weights")
    assert s.name == "weights"
    assert str(s) == "weights"
    u = th.shared(np.zeros((2, 2), dtype="float32"))
    assert str(u) == "<TensorType(float32, matrix)>"


# ---------------------------------------------------------------------------
# 2.2 memory model
# ---------------------------------------------------------------------------

def test_shared_copies_its_value_by_default():
    a = np.arange(5.0)
    s = th.shared(a)
    a[0] = 99.0
    assert s.get_value()[0] == 0.0
    assert not np.shares_memory(s.get_value(borrow=True), a)


def test_shared_with_borrow_aliases_the_callers_array_on_the_host():
    a = np.arange(5.0)
    s = th.shared(a, borrow=True)
    assert np.shares_memory(s.get_value(borrow=True), a)
    a[1] = -3.0
    assert s.get_value()[1] == -3.0
    f = th.function([], s * 2)
    np.testing.assert_array_equal(f(), a * 2)


def test_get_value_returns_a_copy():
    s = th.shared(np.ones(4))
    v = s.get_value()
    v[:] = 7.0
    np.testing.assert_array_equal(s.get_value(), np.ones(4))
    assert not np.shares_memory(s.get_value(), s.get_value(borrow=True))


def test_get_value_with_borrow_returns_the_internal_buffer():
    s = th.shared(np.ones(4))
    v1 = s.get_value(borrow=True)
    v2 = s.get_value(borrow=True)
    assert np.shares_memory(v1, v2)


def test_set_value_copies_by_default():
    s = th.shared(np.zeros(3))
    b = np.array([1.0, 2.0, 3.0])
    s.set_value(b)
    b[0] = 100.0
    np.testing.assert_array_equal(s.get_value(), [1.0, 2.0, 3.0])
    assert not np.shares_memory(s.get_value(borrow=True), b)


def test_set_value_with_borrow_aliases_on_the_host():
    s = th.shared(np.zeros(3))
    b = np.array([1.0, 2.0, 3.0])
    s.set_value(b, borrow=True)
    assert np.shares_memory(s.get_value(borrow=True), b)


def test_set_value_may_change_the_shape(rng):
    s = th.shared(np.zeros(3))
    f = th.function([], s.sum())
    assert float(f()) == 0.0
    new = rng.rand(7)
    s.set_value(new)
    assert s.get_value().shape == (7,)
    assert float(f()) == pytest.approx(new.sum())


def test_two_shared_variables_never_share_a_buffer():
    a = np.arange(4.0)
    s1 = th.shared(a)
    s2 = th.shared(a)
    assert not np.shares_memory(s1.get_value(borrow=True), s2.get_value(borrow=True))


def test_update_from_another_shared_variable_copies_the_buffer():
    a = th.shared(np.zeros(4), name="a")
    b = th.shared(np.arange(4.0), name="b")
    c = th.shared(np.arange(10.0, 15.0), name="c")
    d = th.shared(np.zeros(2), name="d")
    f = th.function([], [], updates=[(a, b), (d, c[1:3])])
    f()
    np.testing.assert_array_equal(a.get_value(), np.arange(4.0))
    np.testing.assert_array_equal(d.get_value(), [11.0, 12.0])
    assert not np.shares_memory(a.get_value(borrow=True), b.get_value(borrow=True))
    assert not np.shares_memory(d.get_value(borrow=True), c.get_value(borrow=True))
    b.set_value(np.full(4, 5.0))
    np.testing.assert_array_equal(a.get_value(), np.arange(4.0))


# ---------------------------------------------------------------------------
# 2.2 set_value errors and conversions
# ---------------------------------------------------------------------------

def test_set_value_with_wrong_ndim_raises():
    s = th.shared(np.zeros(3))
    with pytest.raises(TypeError, match=r"Wrong number of dimensions: expected 1, got 2 with shape \(2, 2\)"):
        s.set_value(np.zeros((2, 2)))
    np.testing.assert_array_equal(s.get_value(), np.zeros(3))


@pytest.mark.parametrize("bad_dtype", ["float64", "int64", "int32"])
def test_set_value_refuses_lossy_array_into_float32(bad_dtype):
    s = th.shared(np.zeros(3, dtype="float32"))
    with pytest.raises(TypeError, match="cannot store a value of dtype %s without risking loss of precision" % bad_dtype):
        s.set_value(np.ones(3, dtype=bad_dtype))


def test_set_value_accepts_a_safe_upcast_array():
    s = th.shared(np.zeros(3, dtype="float32"))
    s.set_value(np.array([1, -2, 3], dtype="int8"))
    out = s.get_value()
    assert out.dtype == np.float32
    np.testing.assert_array_equal(out, [1.0, -2.0, 3.0])


def test_set_value_accepts_a_list_when_conversion_is_exact():
    s = th.shared(np.zeros(3, dtype="float32"))
    s.set_value([1, 2, 3])
    out = s.get_value()
    assert out.dtype == np.float32
    np.testing.assert_array_equal(out, [1.0, 2.0, 3.0])
    s.set_value([0.5, 0.25, -1.5])
    np.testing.assert_array_equal(s.get_value(), [0.5, 0.25, -1.5])


def test_set_value_refuses_an_inexact_list():
    s = th.shared(np.zeros(2, dtype="int32"))
    with pytest.raises(TypeError, match="cannot store accurately value"):
        s.set_value([1.5, 2.0])


def test_int_scalar_set_value_rejects_non_integral_float():
    s = th.shared(0)
    with pytest.raises(TypeError, match="cannot store accurately value 1.5"):
        s.set_value(1.5)
    assert int(s.get_value()) == 0


@pytest.mark.parametrize("value", [2, np.int32(2), 2.0])
def test_int_scalar_set_value_accepts_exact_integers(value):
    s = th.shared(0)
    s.set_value(value)
    v = s.get_value()
    assert v.dtype == np.int64 and int(v) == 2


def test_float_scalar_set_value_accepts_an_int():
    s = th.shared(0.5)
    s.set_value(1)
    v = s.get_value()
    assert isinstance(v, np.ndarray) and v.ndim == 0
    assert v.dtype == np.float64 and float(v) == 1.0


def test_strict_shared_requires_the_exact_dtype():
    s = th.shared(np.zeros(3, dtype="float32"), strict=True)
    s.set_value(np.ones(3, dtype="float32"))
    np.testing.assert_array_equal(s.get_value(), np.ones(3))
    with pytest.raises(TypeError):
        s.set_value(np.ones(3, dtype="int8"))
    with pytest.raises(TypeError):
        s.set_value(np.ones(3, dtype="float64"))
    with pytest.raises(TypeError):
        s.set_value([1.0, 2.0, 3.0])
    np.testing.assert_array_equal(s.get_value(), np.ones(3))


def test_allow_downcast_shared_casts_silently():
    s = th.shared(np.zeros(3, dtype="float32"), allow_downcast=True)
    new = np.array([0.1, 0.2, 1e10])
    s.set_value(new)
    out = s.get_value()
    assert out.dtype == np.float32
    np.testing.assert_array_equal(out, new.astype(np.float32))


# ---------------------------------------------------------------------------
# 2.3 default_update
# ---------------------------------------------------------------------------

def _counter(name="c"):
    c = th.shared(0, name=name)
    c.default_update = c + 1
    return c


def test_default_update_advances_on_every_call():
    c = _counter()
    f = th.function([], c)
    assert [int(f()) for _ in range(3)] == [0, 1, 2]
    assert int(c.get_value()) == 3


def test_default_update_applies_only_to_functions_reaching_the_variable():
    c = _counter()
    other = th.shared(np.ones(2))
    g = th.function([], other * 2)
    g()
    g()
    assert int(c.get_value()) == 0


def test_default_update_is_skipped_with_no_default_updates_true():
    c = _counter()
    f = th.function([], c, no_default_updates=True)
    assert [int(f()) for _ in range(3)] == [0, 0, 0]
    assert int(c.get_value()) == 0


def test_default_update_is_skipped_for_variables_listed_in_no_default_updates():
    c = _counter("c")
    d = _counter("d")
    f = th.function([], [c, d], no_default_updates=[c])
    f()
    f()
    assert int(c.get_value()) == 0
    assert int(d.get_value()) == 2


def test_explicit_update_replaces_the_default_update():
    c = _counter()
    f = th.function([], c, updates=[(c, c + 10)])
    assert int(f()) == 0
    assert int(f()) == 10
    assert int(c.get_value()) == 20


def test_default_update_applies_when_reached_only_through_an_update_expression():
    c = _counter("c")
    total = th.shared(0, name="total")
    f = th.function([], [], updates=[(total, total + c)])
    f()
    f()
    f()
    assert int(total.get_value()) == 0 + 1 + 2
    assert int(c.get_value()) == 3


def test_default_update_applies_when_reached_only_through_a_givens_value():
    c = _counter("c")
    x = T.lscalar("x")
    f = th.function([], x * 3, givens={x: c})
    assert [int(f()) for _ in range(3)] == [0, 3, 6]
    assert int(c.get_value()) == 3


def test_default_update_with_a_different_type_is_rejected():
    c = th.shared(0, name="c")
    with pytest.raises(TypeError):
        c.default_update = c + 1.5
        th.function([], c)
