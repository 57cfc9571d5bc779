"""SPEC 3: th.function (compile-time errors, inputs, outputs, calling and
filtering, updates, givens, modes, aliasing)."""
import collections
import inspect
import os
import warnings

import numpy as np
import pytest

import rtensor as th

T = th.tensor


# ---------------------------------------------------------------------------
# 3.1 compile-time errors
# ---------------------------------------------------------------------------

def test_inputs_not_in_a_list_raise():
    x = T.dscalar("x")
    with pytest.raises(Exception, match="should be contained in a list, even when there is a single input"):
        th.function(x, x * 2)


@pytest.mark.parametrize("make_pair", [tuple, list])
def test_updates_given_as_one_bare_pair_raise_value_error(make_pair):
    s = th.shared(np.zeros(2), name="s")
    with pytest.raises(ValueError, match="The updates parameter must be an OrderedDict/dict or a list of lists/tuples with 2 elements"):
        th.function([], s, updates=make_pair([s, s + 1]))


def test_same_variable_twice_in_inputs_raises_unused_input_error():
    x = T.dscalar("x")
    with pytest.raises(th.compile.UnusedInputError, match=r"Variable x is used twice in inputs.*at indices 0 and 1"):
        th.function([x, x], x * 2)


def test_unused_input_error_is_exposed_at_top_level_too():
    assert th.UnusedInputError is th.compile.UnusedInputError
    assert th.MissingInputError is th.gof.MissingInputError


def test_givens_key_that_is_an_input_raises_runtime_error():
    x = T.dscalar("x")
    y = T.dscalar("y")
    with pytest.raises(RuntimeError, match=r"You are trying to replace variable 'x' through the .?givens.? parameter, but this variable is an input to your function"):
        th.function([x, y], x * 2 + y, givens={x: y})


def test_givens_key_that_is_not_a_variable_raises_type_error():
    x = T.dscalar("x")
    with pytest.raises(TypeError, match="given keys must be Variable"):
        th.function([x], x * 2, givens={"x": x})


def test_shared_variable_as_explicit_input_raises_type_error():
    s = th.shared(np.zeros(2), name="s")
    with pytest.raises(TypeError, match=r"Cannot use a shared variable \(s\) as explicit input"):
        th.function([s], s * 2)


def test_constant_as_input_raises_type_error():
    c = T.constant(np.array([1.0, 2.0]))
    with pytest.raises(TypeError, match="Constants not allowed in param list"):
        th.function([c], c * 2)


def test_update_target_that_is_not_shared_raises_type_error():
    x = T.dscalar("x")
    with pytest.raises(TypeError, match="update target must be a SharedVariable"):
        th.function([x], x, updates=[(x, x + 1)])


def test_two_updates_of_one_shared_variable_raise_value_error():
    s = th.shared(np.zeros(2), name="s")
    with pytest.raises(ValueError, match="this shared variable already has an update expression"):
        th.function([], [], updates=[(s, s + 1), (s, s + 2)])


def test_update_with_another_dtype_raises_type_error():
    s = th.shared(np.zeros(2), name="s")
    with pytest.raises(TypeError, match="An update must have the same type as the original shared variable"):
        th.function([], [], updates=[(s, T.cast(s, "float32"))])


def test_update_with_another_broadcastable_pattern_raises_and_hints_unbroadcast():
    s = th.shared(np.zeros((1, 3)), name="s", broadcastable=(True, False))
    m = th.shared(np.ones((1, 3)), name="m")
    with pytest.raises(TypeError, match=r"An update must have the same type as the original shared variable[\s\S]*unbroadcast"):
        th.function([], [], updates=[(s, s + m)])


def test_update_value_ndarray_becomes_a_constant():
    s = th.shared(np.zeros(2), name="s")
    f = th.function([], [], updates=[(s, np.array([5.0, 5.0]))])
    f()
    np.testing.assert_array_equal(s.get_value(), [5.0, 5.0])


def test_update_value_bare_python_scalar_for_a_vector_is_a_type_error():
    s = th.shared(np.zeros(2), name="s")
    with pytest.raises(TypeError):
        th.function([], [], updates=[(s, 7)])


def test_float32_shared_update_with_inexact_literal_is_rejected_but_exact_literal_works():
    sf = th.shared(np.zeros(3, dtype="float32"), name="sf")
    with pytest.raises(TypeError, match="An update must have the same type"):
        th.function([], [], updates=[(sf, sf + 0.1)])
    f = th.function([], [], updates=[(sf, sf + 1.5)])
    f()
    f()
    out = sf.get_value()
    assert out.dtype == np.float32
    np.testing.assert_array_equal(out, np.full(3, 3.0, dtype="float32"))


def test_input_unused_by_outputs_raises_unused_input_error():
    x = T.dscalar("x")
    y = T.dscalar("y")
    with pytest.raises(th.compile.UnusedInputError,
                       match=r"the provided input variable at index 1 is not part of the computational graph needed to compute the outputs: y"):
        th.function([x, y], x * 2)


def test_unused_input_is_checked_before_missing_inputs():
    x = T.dscalar("x")
    y = T.dscalar("y")
    z = T.dscalar("z")
    with pytest.raises(th.compile.UnusedInputError):
        th.function([x, y], x + z)


def test_expression_given_as_input_but_not_used_counts_as_unused():
    x = T.dscalar("x")
    with pytest.raises(th.compile.UnusedInputError, match="index 1"):
        th.function([x, x * 2], x + 1)


def test_on_unused_input_warn_warns_and_compiles():
    x = T.dscalar("x")
    y = T.dscalar("y")
    with pytest.warns(UserWarning, match="not part of the computational graph"):
        f = th.function([x, y], x * 2, on_unused_input="warn")
    assert float(f(3.0, 100.0)) == 6.0


def test_on_unused_input_ignore_compiles_silently():
    x = T.dscalar("x")
    y = T.dscalar("y")
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        f = th.function([x, y], x * 2, on_unused_input="ignore")
    assert float(f(4.0, 1.0)) == 8.0


def test_on_unused_input_flag_sets_the_default():
    x = T.dscalar("x")
    y = T.dscalar("y")
    with th.change_flags(on_unused_input="ignore"):
        f = th.function([x, y], x + 1)
    assert float(f(1.0, 2.0)) == 2.0


def test_missing_input_raises_missing_input_error_naming_the_node():
    x = T.dscalar("x")
    y = T.dscalar("y")
    with pytest.raises(th.gof.MissingInputError,
                       match=r"Input 1 of the graph \(indices start from 0\), used to compute Elemwise\{add,no_inplace\}\(x, y\), was not provided and not given a value"):
        th.function([x], x + y)


# ---------------------------------------------------------------------------
# 3.1 updates containers
# ---------------------------------------------------------------------------

@pytest.mark.parametrize("container", ["list", "tuple_list", "ordereddict", "dict"])
def test_updates_accept_list_ordereddict_and_dict(container):
    a = th.shared(np.zeros(2), name="a")
    b = th.shared(1, name="b")
    pairs = [(a, a + 2), (b, b * 3)]
    if container == "list":
        upd = [list(p) for p in pairs]
    elif container == "tuple_list":
        upd = pairs
    elif container == "ordereddict":
        upd = collections.OrderedDict(pairs)
    else:
        upd = dict(pairs)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        f = th.function([], [], updates=upd)
    f()
    f()
    np.testing.assert_array_equal(a.get_value(), [4.0, 4.0])
    assert int(b.get_value()) == 9


# ---------------------------------------------------------------------------
# 3.2 inputs and In
# ---------------------------------------------------------------------------

def test_in_value_gives_an_optional_argument_with_default():
    x = T.dscalar("x")
    y = T.dscalar("y")
    f = th.function([x, th.In(y, value=2.0)], x * y)
    assert float(f(3.0)) == 6.0
    assert float(f(3.0, 5.0)) == 15.0
    assert float(f(3.0, y=4.0)) == 12.0


def test_function_item_reads_and_sets_an_in_default():
    x = T.dscalar("x")
    y = T.dscalar("y")
    f = th.function([x, th.In(y, value=2.0)], x - y)
    assert float(f["y"]) == 2.0
    f["y"] = 5.0
    assert float(f["y"]) == 5.0
    assert float(f(1.0)) == -4.0


def test_in_name_overrides_the_variable_name_for_keywords():
    x = T.dscalar("x")
    y = T.dscalar("y")
    f = th.function([th.In(x, name="a"), y], x - y)
    assert float(f(a=10.0, y=3.0)) == 7.0
    with pytest.raises(TypeError, match="Unknown input or state: x"):
        f(x=1.0, y=2.0)


def test_in_with_value_and_update_is_internal_state():
    z = T.dscalar("z")
    f = th.function([th.In(z, value=1.0, update=z + 1)], z)
    assert [float(f()) for _ in range(3)] == [1.0, 2.0, 3.0]


def test_in_mutable_without_borrow_raises_assertion_error():
    x = T.dvector("x")
    with pytest.raises(AssertionError):
        th.function([th.In(x, mutable=True, borrow=False)], x * 2)


def test_in_borrow_defaults_to_mutable():
    x = T.dvector("x")
    assert th.In(x, mutable=True).borrow is True
    assert not th.In(x).borrow


def test_in_mutable_function_without_inplace_work_still_computes():
    x = T.dvector("x")
    f = th.function([th.In(x, mutable=True)], x * 2 + 1)
    a = np.arange(3.0)
    np.testing.assert_array_equal(f(a.copy()), np.arange(3.0) * 2 + 1)


# ---------------------------------------------------------------------------
# 3.3 outputs
# ---------------------------------------------------------------------------

def test_single_scalar_output_is_a_zero_dim_ndarray():
    x = T.dscalar("x")
    f = th.function([x], x + 1)
    out = f(1.0)
    assert isinstance(out, np.ndarray)
    assert out.ndim == 0 and out.dtype == np.float64
    assert float(out) == 2.0


def test_list_and_tuple_outputs_return_a_list():
    x = T.dvector("x")
    fl = th.function([x], [x + 1, x * 2])
    ft = th.function([x], (x + 1, x * 2))
    a = np.array([1.0, 2.0])
    for f in (fl, ft):
        out = f(a)
        assert isinstance(out, list) and len(out) == 2
        np.testing.assert_array_equal(out[0], a + 1)
        np.testing.assert_array_equal(out[1], a * 2)


def test_dict_outputs_return_a_dict_with_the_same_keys():
    x = T.dvector("x")
    f = th.function([x], {"plus": x + 1, "times": x * 3})
    a = np.array([1.0, -2.0])
    out = f(a)
    assert isinstance(out, dict)
    assert set(out) == {"plus", "times"}
    np.testing.assert_array_equal(out["plus"], a + 1)
    np.testing.assert_array_equal(out["times"], a * 3)


def test_none_or_empty_outputs_return_an_empty_list():
    s = th.shared(0, name="s")
    f = th.function([], None, updates=[(s, s + 1)])
    g = th.function([], [], updates=[(s, s + 2)])
    assert f() == []
    assert g() == []
    assert int(s.get_value()) == 3


def test_out_wrapper_returns_the_value():
    x = T.dvector("x")
    f = th.function([x], th.Out(x * 2))
    g = th.function([x], [th.Out(x + 1, borrow=True), x - 1])
    a = np.array([1.0, 5.0])
    np.testing.assert_array_equal(f(a), a * 2)
    out = g(a)
    np.testing.assert_array_equal(out[0], a + 1)
    np.testing.assert_array_equal(out[1], a - 1)


def test_output_subset_returns_only_the_selected_outputs():
    x = T.dscalar("x")
    f = th.function([x], [x + 1, x * 2, x - 1])
    out = f(5.0, output_subset=[1])
    assert isinstance(out, list) and len(out) == 1
    assert float(out[0]) == 10.0
    out = f(5.0, output_subset=[0, 2])
    assert [float(v) for v in out] == [6.0, 4.0]
    assert [float(v) for v in f(2.0)] == [3.0, 4.0, 1.0]


def test_default_function_name_is_file_and_line_of_the_call_site():
    x = T.dscalar("x")
    f, line = th.function([x], x * 2), inspect.currentframe().f_lineno
    path, _, lineno = f.name.rpartition(":")
    assert os.path.basename(path) == "test_function.py"
    assert int(lineno) == line


def test_explicit_function_name_is_kept():
    x = T.dscalar("x")
    f = th.function([x], x * 2, name="double")
    assert f.name == "double"


# ---------------------------------------------------------------------------
# 3.4 calling
# ---------------------------------------------------------------------------

def _xy_function():
    x = T.dscalar("x")
    y = T.dscalar("y")
    return th.function([x, y], x - y)


def test_positional_keyword_and_mixed_calls_agree():
    f = _xy_function()
    assert float(f(5.0, 2.0)) == 3.0
    assert float(f(x=5.0, y=2.0)) == 3.0
    assert float(f(y=2.0, x=5.0)) == 3.0
    assert float(f(5.0, y=2.0)) == 3.0


def test_missing_required_input_raises():
    f = _xy_function()
    with pytest.raises(TypeError, match="Missing required input: y"):
        f(1.0)


def test_too_many_arguments_raise():
    f = _xy_function()
    with pytest.raises(TypeError, match="Too many parameter passed to"):
        f(1.0, 2.0, 3.0)


def test_unknown_keyword_raises_and_lists_the_inputs():
    f = _xy_function()
    with pytest.raises(TypeError, match=r"Unknown input or state: w. The function has 2 named inputs \(x, y\)"):
        f(1.0, w=2.0)


def test_multiple_values_for_an_input_raise():
    f = _xy_function()
    with pytest.raises(TypeError, match="Multiple values for input: x"):
        f(1.0, x=2.0)


def test_bad_input_error_names_the_function_and_index():
    x = T.dscalar("x")
    y = T.ivector("y")
    f = th.function([x, y], x + y, name="myfn")
    with pytest.raises(TypeError, match=r'Bad input argument to .*function with name "myfn" at index 1 \(0-based\)'):
        f(1.0, np.array([1.5, 2.0]))


def test_filter_rule1_a_variable_as_data_is_rejected():
    x = T.dvector("x")
    f = th.function([x], x * 2)
    with pytest.raises(TypeError, match="Expected an array-like object, but found a Variable"):
        f(T.dvector())


def test_filter_rule2_exact_dtype_array_is_not_written_to():
    x = T.dvector("x")
    s = th.shared(np.zeros(3))
    f = th.function([x], x * 2 + 1, updates=[(s, s + x)])
    a = np.array([1.0, 2.0, 3.0])
    keep = a.copy()
    for _ in range(3):
        f(a)
    np.testing.assert_array_equal(a, keep)
    np.testing.assert_array_equal(s.get_value(), keep * 3)


def test_filter_rule2_exact_dtype_array_is_taken_without_copy():
    x = T.dvector("x")
    f = th.function([th.In(x, borrow=True)], th.Out(x, borrow=True))
    a = np.arange(4.0)
    assert np.shares_memory(f(a), a)


def test_filter_rule3_strict_input_requires_the_exact_dtype():
    x = T.fvector("x")
    f = th.function([th.In(x, strict=True)], x * 2)
    np.testing.assert_array_equal(f(np.ones(2, dtype="float32")), [2.0, 2.0])
    with pytest.raises(TypeError, match=r"dtype = float32 \(got float64\)"):
        f(np.ones(2))
    with pytest.raises(TypeError):
        f([1.0, 2.0])


def test_filter_rule4_allow_input_downcast_casts_with_asarray():
    x = T.fvector("x")
    f = th.function([x], x * 2, allow_input_downcast=True)
    a = np.array([0.1, 0.2, 1.0 / 3.0])
    out = f(a)
    assert out.dtype == np.float32
    np.testing.assert_allclose(out, a.astype("float32") * 2, rtol=1e-6)
    g = th.function([th.In(x, allow_downcast=True)], x + 1)
    np.testing.assert_allclose(g(a), a.astype("float32") + 1, rtol=1e-6)
    i = T.ivector("i")
    h = th.function([i], i + 0, allow_input_downcast=True)
    np.testing.assert_array_equal(h(np.array([1.7, -1.7])), np.asarray(np.array([1.7, -1.7]), dtype="int32"))


@pytest.mark.parametrize("ctor,src,ok", [
    ("fvector", "int8", True),
    ("fvector", "uint8", True),
    ("fvector", "int16", True),
    ("fvector", "int32", False),
    ("fvector", "int64", False),
    ("fvector", "float64", False),
    ("dvector", "float32", True),
    ("dvector", "int64", True),
    ("dvector", "int32", True),
    ("ivector", "int8", True),
    ("ivector", "int64", False),
    ("ivector", "float32", False),
    ("lvector", "int32", True),
])
def test_filter_rule5_other_arrays_accepted_only_when_upcast_is_safe(ctor, src, ok):
    x = getattr(T, ctor)("x")
    f = th.function([x], x * 1)
    a = np.array([1, 2, 3], dtype=src)
    if ok:
        out = f(a)
        assert out.dtype == np.dtype(x.dtype)
        np.testing.assert_array_equal(out, a.astype(x.dtype))
    else:
        with pytest.raises(TypeError, match="cannot store a value of dtype %s without risking loss of precision" % src):
            f(a)


def test_filter_rule6_python_float_into_fscalar_only_when_floatX_is_float32():
    x = T.fscalar("x")
    f = th.function([x], x * 2)
    with pytest.raises(TypeError, match="cannot store accurately value 0.1"):
        f(0.1)
    assert float(f(0.5)) == 1.0  # exact
    th.config.floatX = "float32"
    g = th.function([x], x * 2)
    out = g(0.1)
    assert out.dtype == np.float32
    assert float(out) == pytest.approx(float(np.float32(0.1)) * 2)


def test_filter_rule6_does_not_apply_to_numpy_float64_scalars():
    th.config.floatX = "float32"
    x = T.fscalar("x")
    f = th.function([x], x * 2)
    with pytest.raises(TypeError, match="cannot store accurately value"):
        f(np.float64(0.1))


def test_allow_input_downcast_false_refuses_python_float_downcast():
    th.config.floatX = "float32"
    x = T.fscalar("x")
    f = th.function([x], x * 2, allow_input_downcast=False)
    with pytest.raises(TypeError):
        f(0.1)
    g = th.function([x], x * 2)
    assert float(g(0.1)) == pytest.approx(0.2, rel=1e-6)


@pytest.mark.parametrize("value", [3, 3.0, np.int64(3), np.int8(3)])
def test_filter_rule7_iscalar_accepts_exact_integers(value):
    i = T.iscalar("i")
    f = th.function([i], i * 2)
    out = f(value)
    assert out.dtype == np.int32 and int(out) == 6


@pytest.mark.parametrize("value,phrase", [(3.5, "cannot store accurately value 3.5"),
                                          (2 ** 40, "cannot store accurately value")])
def test_filter_rule7_iscalar_rejects_inexact_values(value, phrase):
    i = T.iscalar("i")
    f = th.function([i], i * 2)
    with pytest.raises(TypeError, match=phrase):
        f(value)


def test_filter_rule7_lists_are_converted_when_exact():
    x = T.dvector("x")
    iv = T.ivector("iv")
    f = th.function([x, iv], [x * 2, iv * 2])
    a, b = f([1, 2, 3], [4, 5])
    np.testing.assert_array_equal(a, [2.0, 4.0, 6.0])
    np.testing.assert_array_equal(b, [8, 10])
    assert b.dtype == np.int32
    with pytest.raises(TypeError, match="cannot store accurately value"):
        f([1.0], [1.5])


def test_filter_rule7_nan_counts_as_exact():
    x = T.fscalar("x")
    f = th.function([x], x + 1)
    out = f(float("nan"))
    assert out.dtype == np.float32 and np.isnan(out)


def test_filter_rule8_wrong_ndim_is_rejected():
    x = T.dvector("x")
    f = th.function([x], x * 2)
    with pytest.raises(TypeError, match="Wrong number of dimensions"):
        f(np.zeros((2, 2)))
    with pytest.raises(TypeError):
        f(1.0)


def test_filter_rule8_broadcastable_dims_must_be_one():
    c = T.dcol("c")
    f = th.function([c], c * 2)
    np.testing.assert_array_equal(f(np.ones((3, 1))), 2 * np.ones((3, 1)))
    with pytest.raises(TypeError, match="Non-unit value on shape on a broadcastable dimension"):
        f(np.ones((3, 2)))


def test_filter_rule8_unaligned_arrays_are_rejected():
    x = T.dvector("x")
    f = th.function([x], x * 2)
    raw = np.zeros(8 * 3 + 1, dtype=np.uint8)
    unaligned = np.frombuffer(raw.data, dtype=np.float64, count=3, offset=1)
    assert not unaligned.flags.aligned
    with pytest.raises(TypeError):
        f(unaligned)


def test_non_contiguous_inputs_are_accepted():
    x = T.dmatrix("x")
    f = th.function([x], x * 2)
    a = np.arange(24.0).reshape(4, 6)
    for view in (a.T, a[::2, 1::3], a[:, ::-1]):
        np.testing.assert_array_equal(f(view), view * 2)


def test_trust_input_skips_the_filter():
    x = T.dvector("x")
    f = th.function([x], x * 2)
    assert f.trust_input is False
    f.trust_input = True
    np.testing.assert_array_equal(f(np.array([1.0, 2.0])), [2.0, 4.0])
    with pytest.raises(ValueError, match="expected an ndarray"):
        f([1.0, 2.0])


# ---------------------------------------------------------------------------
# 3.5 updates: order and atomicity
# ---------------------------------------------------------------------------

def test_updates_are_computed_from_pre_call_values_so_pairs_swap():
    a = th.shared(np.array([1.0, 2.0]), name="a")
    b = th.shared(np.array([3.0, 4.0]), name="b")
    f = th.function([], [], updates=[(a, b), (b, a)])
    f()
    np.testing.assert_array_equal(a.get_value(), [3.0, 4.0])
    np.testing.assert_array_equal(b.get_value(), [1.0, 2.0])
    f()
    np.testing.assert_array_equal(a.get_value(), [1.0, 2.0])
    np.testing.assert_array_equal(b.get_value(), [3.0, 4.0])


def test_outputs_reflect_the_state_before_the_updates():
    state = th.shared(0)
    inc = T.iscalar("inc")
    acc = th.function([inc], state, updates=[(state, state + inc)])
    assert int(acc(1)) == 0
    assert int(acc(300)) == 1
    assert int(state.get_value()) == 301


def test_update_expressions_all_read_old_values():
    a = th.shared(2.0, name="a")
    b = th.shared(5.0, name="b")
    f = th.function([], [a * b], updates=[(a, a + b), (b, a * b)])
    out = f()
    assert float(out[0]) == 10.0
    assert float(a.get_value()) == 7.0
    assert float(b.get_value()) == 10.0


@pytest.mark.parametrize("failing_first", [False, True])
def test_a_failing_call_leaves_every_shared_value_unchanged(failing_first):
    s_ok = th.shared(np.zeros(3), name="s_ok")
    s_bad = th.shared(np.zeros(2), name="s_bad")
    x = T.dvector("x")
    ok = (s_ok, s_ok + 1)
    bad = (s_bad, s_bad + x)
    upd = [bad, ok] if failing_first else [ok, bad]
    f = th.function([x], s_ok.sum(), updates=upd)
    with pytest.raises(ValueError, match="Input dimension mis-match|shape"):
        f(np.ones(3))
    np.testing.assert_array_equal(s_ok.get_value(), np.zeros(3))
    np.testing.assert_array_equal(s_bad.get_value(), np.zeros(2))
    f(np.array([1.0, 2.0]))
    np.testing.assert_array_equal(s_ok.get_value(), np.ones(3))
    np.testing.assert_array_equal(s_bad.get_value(), [1.0, 2.0])


def test_run_time_shape_error_is_a_value_error_naming_the_mismatch():
    x = T.dvector("x")
    y = T.dvector("y")
    f = th.function([x, y], x + y)
    with pytest.raises(ValueError, match="Input dimension mis-match"):
        f(np.ones(3), np.ones(2))


# ---------------------------------------------------------------------------
# 3.6 givens
# ---------------------------------------------------------------------------

def test_givens_type_mismatch_names_both_types():
    fv = T.fvector("fv")
    dv = T.dvector("dv")
    with pytest.raises(TypeError, match=r"Cannot convert Type TensorType\(float32, vector\) \(of Variable fv\) into Type TensorType\(float64, vector\)"):
        th.function([fv], dv * 2, givens={dv: fv})
    with pytest.raises(TypeError, match=r"You can try to manually convert fv into a TensorType\(float64, vector\)"):
        th.function([fv], dv * 2, givens=[(dv, fv)])


def test_givens_may_replace_with_a_more_broadcastable_variable():
    m = T.dmatrix("m")
    r = T.drow("r")
    f = th.function([r], m * 2, givens={m: r})
    rv = np.array([[1.0, 2.0, 3.0]])
    np.testing.assert_array_equal(f(rv), rv * 2)


def test_givens_may_not_replace_with_a_less_broadcastable_variable():
    m = T.dmatrix("m")
    r = T.drow("r")
    with pytest.raises(TypeError):
        th.function([m], r * 2, givens={r: m})


def test_givens_with_rebuild_strict_false_propagates_the_new_type():
    fv = T.fvector("fv")
    dv = T.dvector("dv")
    f = th.function([fv], dv * 2, givens={dv: fv}, rebuild_strict=False)
    out = f(np.array([1.5, 2.5], dtype="float32"))
    assert out.dtype == np.float32
    np.testing.assert_array_equal(out, [3.0, 5.0])


def test_givens_rewrite_update_expressions():
    c = th.shared(0, name="c")
    q = T.lscalar("q")
    f = th.function([q], c, givens={c: q}, updates=[(c, c + 1)])
    out = f(5)
    assert int(out) == 5
    assert int(c.get_value()) == 6
    assert int(f(-3)) == -3
    assert int(c.get_value()) == -2


@pytest.mark.parametrize("order", ["forward", "reverse"])
def test_givens_whose_new_value_depends_on_another_key_raise_in_both_orders(order):
    a = T.dscalar("a")
    b = T.dscalar("b")
    z = T.dscalar("z")
    pairs = [(a, b + 1), (b, z * 2)]
    if order == "reverse":
        pairs = pairs[::-1]
    with pytest.raises(AssertionError, match="can not have a new_v variable depend on an old_v one"):
        th.function([z], a + b, givens=pairs)


def test_givens_independent_pairs_are_all_applied():
    a = T.dscalar("a")
    b = T.dscalar("b")
    z = T.dscalar("z")
    f = th.function([z], a * 10 + b, givens=[(a, z + 1), (b, z * 2)])
    assert float(f(3.0)) == 4.0 * 10 + 6.0


def test_givens_value_that_is_not_a_variable_is_wrapped_as_shared():
    x = T.dvector("x")
    f = th.function([], x * 2, givens={x: np.array([1.0, 2.5])})
    np.testing.assert_array_equal(f(), [2.0, 5.0])


def test_givens_value_that_is_a_list_fails():
    x = T.dvector("x")
    with pytest.raises(TypeError):
        th.function([], x * 2, givens={x: [1.0, 2.0]})


def test_givens_key_absent_from_the_graph_is_ignored():
    x = T.dvector("x")
    unrelated = T.dmatrix("unrelated")
    f = th.function([x], x + 1, givens={unrelated: T.dmatrix("other")})
    np.testing.assert_array_equal(f(np.array([1.0])), [2.0])


def test_givens_can_replace_an_intermediate_expression():
    x = T.dvector("x")
    y = T.dvector("y")
    h = x * 100
    out = h + 1
    f = th.function([y], out, givens={h: y})
    np.testing.assert_array_equal(f(np.array([1.0, 2.0])), [2.0, 3.0])


def test_givens_minibatch_idiom_keeps_data_in_a_shared_variable():
    X = th.shared(np.arange(100), borrow=True, name="X")
    index = T.scalar(dtype="int32", name="index")
    get = th.function([index], X, givens={X: X[index:index + 5]})
    np.testing.assert_array_equal(get(3), np.arange(3, 8))
    np.testing.assert_array_equal(get(60), np.arange(60, 65))


def test_givens_int64_labels_for_an_int32_vector_fail_until_cast():
    labels = th.shared(np.array([0, 1, 1, 0]), name="labels")
    y = T.ivector("y")
    with pytest.raises(TypeError):
        th.function([], y * 2, givens={y: labels})
    f = th.function([], y * 2, givens={y: T.cast(labels, "int32")})
    out = f()
    assert out.dtype == np.int32
    np.testing.assert_array_equal(out, [0, 2, 2, 0])


def test_clone_rebuilds_with_replacements_without_compiling():
    x = T.dscalar("x")
    y = T.dscalar("y")
    z = T.dscalar("z")
    out = x * 2 + y
    new = th.clone(out, replace={y: z * 3})
    assert new is not out
    assert float(new.eval({x: 1.0, z: 2.0})) == 8.0
    assert float(out.eval({x: 1.0, y: 2.0})) == 4.0


# ---------------------------------------------------------------------------
# 3.7 modes
# ---------------------------------------------------------------------------

@pytest.mark.parametrize("mode", ["FAST_RUN", "FAST_COMPILE", "DebugMode"])
def test_named_modes_compile_and_agree(mode, rng):
    x = T.dmatrix("x")
    v = T.dvector("v")
    W = th.shared(rng.rand(3, 2), name="W")
    out = T.dot(x, W).sum(axis=0) * 2 + v[::-1]
    f = th.function([x, v], out, mode=mode)
    xv = rng.rand(4, 3)
    vv = rng.rand(2)
    np.testing.assert_allclose(f(xv, vv), xv.dot(W.get_value()).sum(axis=0) * 2 + vv[::-1])


# ---------------------------------------------------------------------------
# 3.8 output copies and aliasing
# ---------------------------------------------------------------------------

def test_identity_function_returns_a_copy():
    x = T.dvector("x")
    f = th.function([x], x)
    a = np.arange(3.0)
    out = f(a)
    np.testing.assert_array_equal(out, a)
    assert not np.shares_memory(out, a)


def test_slice_output_of_an_input_is_copied():
    x = T.dvector("x")
    f = th.function([x], x[1:])
    a = np.arange(4.0)
    out = f(a)
    np.testing.assert_array_equal(out, a[1:])
    assert not np.shares_memory(out, a)


def test_borrowed_input_and_output_returns_the_callers_array():
    x = T.dvector("x")
    f = th.function([th.In(x, borrow=True)], th.Out(x, borrow=True))
    a = np.arange(3.0)
    out = f(a)
    assert np.shares_memory(out, a)
    np.testing.assert_array_equal(out, a)


def test_borrowed_output_of_a_shared_variable_is_its_buffer():
    s = th.shared(np.arange(4.0), name="s")
    f = th.function([], th.Out(s, borrow=True))
    out = f()
    assert np.shares_memory(out, s.get_value(borrow=True))


def test_plain_output_of_a_shared_variable_is_a_copy():
    s = th.shared(np.arange(4.0), name="s")
    f = th.function([], s)
    out = f()
    np.testing.assert_array_equal(out, np.arange(4.0))
    assert not np.shares_memory(out, s.get_value(borrow=True))
    out[:] = -1
    np.testing.assert_array_equal(s.get_value(), np.arange(4.0))


def test_non_borrowed_outputs_get_a_fresh_buffer_every_call():
    x = T.dvector("x")
    f = th.function([x], x * 2)
    a = np.arange(3.0)
    r1 = f(a)
    r2 = f(a + 1)
    assert not np.shares_memory(r1, r2)
    np.testing.assert_array_equal(r1, a * 2)
    np.testing.assert_array_equal(r2, (a + 1) * 2)


def test_two_outputs_of_the_same_value_do_not_alias():
    x = T.dvector("x")
    y = x * 2
    f = th.function([x], [y, y])
    o1, o2 = f(np.arange(3.0))
    assert not np.shares_memory(o1, o2)


def test_new_shared_value_never_aliases_a_borrowed_input():
    s = th.shared(np.zeros(3), name="s")
    x = T.dvector("x")
    f = th.function([th.In(x, borrow=True)], [], updates=[(s, x)])
    a = np.arange(3.0)
    f(a)
    np.testing.assert_array_equal(s.get_value(), a)
    assert not np.shares_memory(s.get_value(borrow=True), a)
    a[0] = 50.0
    assert s.get_value()[0] == 0.0
