"""SPEC 1.1 (dtypes, constructors, variable identity) and 1.2 (implicit casting)."""
import numpy as np
import pytest

import rtensor as th

T = th.tensor


# ---------------------------------------------------------------------------
# 1.1 constructors
# ---------------------------------------------------------------------------

CONSTRUCTORS = [
    ("scalar", (), "scalar"),
    ("vector", (False,), "vector"),
    ("matrix", (False, False), "matrix"),
    ("row", (True, False), "row"),
    ("col", (False, True), "col"),
    ("tensor3", (False,) * 3, "3D"),
    ("tensor4", (False,) * 4, "4D"),
    ("tensor5", (False,) * 5, "5D"),
]


@pytest.mark.parametrize("ctor,bcast,label", CONSTRUCTORS)
def test_unprefixed_constructors_use_floatX_float64(ctor, bcast, label):
    v = getattr(T, ctor)()
    assert v.dtype == "float64"
    assert tuple(v.broadcastable) == bcast
    assert tuple(v.type.broadcastable) == bcast
    assert v.ndim == len(bcast)
    assert str(v.type) == "TensorType(float64, %s)" % label


@pytest.mark.parametrize("ctor,bcast,label", CONSTRUCTORS)
def test_unprefixed_constructors_follow_floatX_float32(ctor, bcast, label):
    th.config.floatX = "float32"
    v = getattr(T, ctor)()
    assert v.dtype == "float32"
    assert str(v.type) == "TensorType(float32, %s)" % label


@pytest.mark.parametrize("ctor,bcast,label", CONSTRUCTORS)
def test_constructors_accept_name_and_dtype(ctor, bcast, label):
    v = getattr(T, ctor)(name="v", dtype="int16")
    assert v.name == "v"
    assert v.dtype == "int16"
    assert str(v.type) == "TensorType(int16, %s)" % label
    assert str(v) == "v"


@pytest.mark.parametrize("prefix,dtype", [
    ("b", "int8"), ("w", "int16"), ("i", "int32"), ("l", "int64"),
    ("f", "float32"), ("d", "float64"), ("c", "complex64"), ("z", "complex128"),
])
@pytest.mark.parametrize("kind,ndim", [("scalar", 0), ("vector", 1), ("matrix", 2),
                                       ("row", 2), ("col", 2), ("tensor3", 3), ("tensor4", 4)])
def test_prefixed_constructors_fix_the_dtype(prefix, dtype, kind, ndim):
    th.config.floatX = "float32"  # must not matter for prefixed forms
    v = getattr(T, prefix + kind)("p")
    assert v.dtype == dtype
    assert v.ndim == ndim
    assert v.name == "p"


def test_plural_constructors_make_one_variable_per_name():
    a, b = T.dmatrices("a", "b")
    assert (a.name, b.name) == ("a", "b")
    assert a.type == b.type == T.dmatrix().type
    assert a is not b
    x, y = T.fscalars("x", "y")
    assert x.type.dtype == "float32" and x.ndim == 0
    rows = T.lrows(3)
    assert len(rows) == 3 and all(r.type.broadcastable == (True, False) for r in rows)
    p, q = T.matrices("p", "q", dtype="int16")
    assert p.type.dtype == q.type.dtype == "int16"
    f = th.function([a, b], a + b)
    np.testing.assert_array_equal(f(np.ones((2, 2)), np.eye(2)), np.ones((2, 2)) + np.eye(2))


def test_a_plural_constructor_given_one_name_returns_the_variable_itself():
    v = T.ivectors("v")
    assert v.name == "v" and v.type == T.ivector().type
    assert T.dscalars(1).ndim == 0
    # As in Theano, one string of several characters names one variable each.
    assert [s.name for s in T.dscalars("uv")] == ["u", "v"]


def test_tensor_type_call_makes_a_variable_with_that_type():
    tt = T.TensorType("float64", (True, True))
    v = tt("n")
    assert v.name == "n"
    assert v.type == tt
    assert tuple(v.broadcastable) == (True, True)
    assert str(v.type) == "TensorType(float64, (True, True))"


def test_tensor_function_with_mixed_broadcastable_prints_the_pattern():
    v = T.tensor(dtype="float32", broadcastable=(False, True, False))
    assert v.dtype == "float32"
    assert str(v.type) == "TensorType(float32, (False, True, False))"
    assert str(v) == "<TensorType(float32, (False, True, False))>"


def test_one_dim_broadcastable_pattern_prints_as_tuple():
    v = T.TensorType("int32", (True,))()
    assert str(v.type) == "TensorType(int32, (True,))"


def test_unknown_dtype_raises_type_error():
    with pytest.raises(TypeError, match="Unsupported dtype for TensorType: foo"):
        T.TensorType("foo", (False,))
    with pytest.raises(TypeError, match="Unsupported dtype for TensorType: foo"):
        T.matrix(dtype="foo")


def test_str_and_repr_show_the_name_or_the_type():
    x = T.dmatrix("x")
    assert str(x) == "x"
    assert repr(x) == "x"
    y = T.dmatrix()
    assert str(y) == "<TensorType(float64, matrix)>"
    assert repr(y) == "<TensorType(float64, matrix)>"
    z = T.ivector()
    assert str(z) == "<TensorType(int32, vector)>"


def test_equal_types_compare_equal():
    assert T.dmatrix().type == T.matrix().type
    assert T.fmatrix().type != T.dmatrix().type
    assert T.drow().type != T.dmatrix().type


def test_broadcastable_dimension_rejects_non_unit_length_at_call_time():
    r = T.drow("r")
    f = th.function([r], r * 2)
    np.testing.assert_array_equal(f(np.ones((1, 3))), 2 * np.ones((1, 3)))
    with pytest.raises(TypeError, match="Non-unit value on shape on a broadcastable dimension"):
        f(np.ones((2, 3)))


def test_broadcastable_dimension_broadcasts_against_a_matrix():
    r = T.drow("r")
    m = T.dmatrix("m")
    c = T.dcol("c")
    f = th.function([r, m, c], [r + m, r + c])
    rv = np.arange(3.0).reshape(1, 3)
    mv = np.arange(12.0).reshape(4, 3)
    cv = np.arange(4.0).reshape(4, 1)
    out = f(rv, mv, cv)
    np.testing.assert_array_equal(out[0], rv + mv)
    np.testing.assert_array_equal(out[1], rv + cv)
    assert out[1].shape == (4, 3)


# ---------------------------------------------------------------------------
# 1.1 identity, bool, len, iter
# ---------------------------------------------------------------------------

def test_double_equals_is_python_identity_returning_bool():
    x = T.dvector("x")
    y = T.dvector("y")
    r1 = (x == y)
    r2 = (x == x)
    assert type(r1) is bool and r1 is False
    assert type(r2) is bool and r2 is True
    assert (x != y) is True
    d = {x: 1, y: 2}
    assert d[x] == 1 and d[y] == 2


def test_eq_is_the_elementwise_comparison():
    x = T.dvector("x")
    y = T.dvector("y")
    e = T.eq(x, y)
    assert e.dtype == "bool"
    out = e.eval({x: np.array([1.0, 2.0, 3.0]), y: np.array([1.0, 0.0, 3.0])})
    np.testing.assert_array_equal(out, np.array([True, False, True]))


def test_variables_are_truthy_so_if_not_W_works():
    W = th.shared(np.zeros(3), name="W")
    x = T.dmatrix()
    assert bool(x) is True
    assert bool(x + 1) is True
    assert bool(W) is True
    hit = False
    if not W:
        hit = True
    assert hit is False


def test_bool_of_a_comparison_raises_type_error():
    a = T.dscalar("a")
    b = T.dscalar("b")
    c = T.dscalar("c")
    with pytest.raises(TypeError):
        bool(a < b)
    with pytest.raises(TypeError):
        a < b < c  # noqa: B015


def test_len_of_a_variable_raises():
    with pytest.raises(TypeError):
        len(T.dmatrix())
    with pytest.raises(TypeError):
        len(T.dvector())


def test_iterating_a_variable_raises():
    with pytest.raises((TypeError, ValueError)):
        list(iter(T.dmatrix()))
    with pytest.raises((TypeError, ValueError)):
        for _ in T.dvector():
            pass


# ---------------------------------------------------------------------------
# 1.2 literal dtypes and upcasting (cast_policy=custom)
# ---------------------------------------------------------------------------

@pytest.mark.parametrize("floatX", ["float64", "float32"])
@pytest.mark.parametrize("value,dtype", [(1, "int8"), (-1, "int8"), (300, "int16"),
                                         (70000, "int32"), (2 ** 40, "int64"), (1.5, "float32")])
def test_integer_and_exact_float_literals_take_the_smallest_dtype(floatX, value, dtype):
    th.config.floatX = floatX
    c = T.constant(value)
    assert c.dtype == dtype
    assert c.ndim == 0
    assert c.eval() == value


def test_inexact_float_literal_is_float64_under_floatX_float64():
    c = T.constant(0.1)
    assert c.dtype == "float64"
    assert float(c.eval()) == 0.1


def test_inexact_float_literal_is_float32_under_floatX_float32():
    th.config.floatX = "float32"
    c = T.constant(0.1)
    assert c.dtype == "float32"
    assert float(c.eval()) == pytest.approx(0.1, rel=1e-6)


def _binop_cases():
    return {
        "fvector * 2": lambda: T.fvector() * 2,
        "fscalar + 1.5": lambda: T.fscalar() + 1.5,
        "lscalar + 1.5": lambda: T.lscalar() + 1.5,
        "iscalar + 1.5": lambda: T.iscalar() + 1.5,
        "bscalar + 1.5": lambda: T.bscalar() + 1.5,
        "ivector + fvector": lambda: T.ivector() + T.fvector(),
        "iscalar // iscalar": lambda: T.iscalar() // T.iscalar(),
        "iscalar % iscalar": lambda: T.iscalar() % T.iscalar(),
        "mean(ivector)": lambda: T.mean(T.ivector()),
        "sum(bvector)": lambda: T.sum(T.bvector()),
        "iscalar / iscalar": lambda: T.iscalar() / T.iscalar(),
    }


CUSTOM_TABLE = [
    # expression, floatX=float64, floatX=float32
    ("fvector * 2", "float32", "float32"),
    ("fscalar + 1.5", "float32", "float32"),
    ("lscalar + 1.5", "float64", "float64"),
    ("iscalar + 1.5", "float64", "float64"),
    ("bscalar + 1.5", "float32", "float32"),
    ("ivector + fvector", "float64", "float64"),
    ("iscalar / iscalar", "float64", "float32"),
    ("iscalar // iscalar", "int32", "int32"),
    ("iscalar % iscalar", "int32", "int32"),
    ("mean(ivector)", "float64", "float64"),
    ("sum(bvector)", "int64", "int64"),
]


@pytest.mark.parametrize("expr,dt64,dt32", CUSTOM_TABLE)
def test_custom_cast_policy_table_under_floatX_float64(expr, dt64, dt32):
    assert _binop_cases()[expr]().dtype == dt64


@pytest.mark.parametrize("expr,dt64,dt32", CUSTOM_TABLE)
def test_custom_cast_policy_table_under_floatX_float32(expr, dt64, dt32):
    th.config.floatX = "float32"
    assert _binop_cases()[expr]().dtype == dt32


def test_float32_plus_inexact_literal_upcasts_to_float64():
    sf = T.fscalar()
    assert (sf + 0.1).dtype == "float64"
    assert (sf + 1.5).dtype == "float32"


def test_upcast_results_hold_the_right_values():
    iv = T.ivector("iv")
    fv = T.fvector("fv")
    f = th.function([iv, fv], [iv + fv, iv // 2, iv % 3, iv / 2])
    a = np.array([-7, 0, 5, 9], dtype="int32")
    b = np.array([0.5, 1.25, -2.0, 3.0], dtype="float32")
    s, q, m, d = f(a, b)
    assert s.dtype == np.float64
    np.testing.assert_allclose(s, a.astype(np.float64) + b.astype(np.float64))
    assert q.dtype == np.int32
    np.testing.assert_array_equal(q, a // 2)
    assert m.dtype == np.int32
    np.testing.assert_array_equal(m, a % 3)
    assert d.dtype == np.float64
    np.testing.assert_allclose(d, a / 2)


def test_numpy_plus_floatX_policy_sends_int_float_mixes_to_floatX():
    with th.change_flags(cast_policy="numpy+floatX", floatX="float32"):
        assert (T.lscalar() + 1.5).dtype == "float32"
        assert (T.ivector() + T.fvector()).dtype == "float32"
    # restored on exit
    assert (T.lscalar() + 1.5).dtype == "float64"
    assert (T.ivector() + T.fvector()).dtype == "float64"


def test_change_flags_restores_floatX_as_context_manager_and_decorator():
    with th.change_flags(floatX="float32"):
        assert th.config.floatX == "float32"
        assert T.matrix().dtype == "float32"
    assert th.config.floatX == "float64"
    assert T.matrix().dtype == "float64"

    @th.change_flags(floatX="float32")
    def make():
        return T.vector()

    assert make().dtype == "float32"
    assert th.config.floatX == "float64"


def test_assigning_an_invalid_floatX_raises_value_error():
    with pytest.raises(ValueError, match="Invalid value"):
        th.config.floatX = "float8"
    assert th.config.floatX == "float64"
