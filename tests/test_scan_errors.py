"""The errors of `th.scan` (SPEC §4.3–4.5, §4.2 [rtensor]): at construction
when the arguments tell, at run time when only the values do, and at
`function` time when the updates a loop needs were not passed."""
import numpy as np
import pytest

import rtensor as th

T = th.tensor


# ---------------------------------------------------------------------------
# number of steps (§4.3)
# ---------------------------------------------------------------------------

def test_no_sequence_and_no_n_steps_is_refused_before_fn_is_called():
    called = []
    with pytest.raises(ValueError, match="No information about the number of steps"):
        th.scan(lambda p: called.append(p) or p, outputs_info=T.dscalar("x0"))
    assert not called


def test_a_negative_constant_n_steps_is_refused_at_construction():
    with pytest.raises(ValueError, match="n_steps must be non-negative, got -3"):
        th.scan(lambda p: p + 1, outputs_info=T.dscalar("x0"), n_steps=-3)


def test_a_negative_symbolic_n_steps_is_refused_at_run_time():
    k = T.lscalar("k")
    x0 = T.dscalar("x0")
    out, _ = th.scan(lambda p: p + 1, outputs_info=x0, n_steps=k)
    f = th.function([x0, k], out)
    with pytest.raises(ValueError, match=r"scan 'scan_fn': n_steps must be non-negative, got -2"):
        f(1.0, -2)
    assert f(1.0, 2).shape == (2,)


def test_a_float_n_steps_is_refused():
    with pytest.raises(ValueError, match="n_steps must be an int"):
        th.scan(lambda p: p + 1, outputs_info=T.dscalar("x0"), n_steps=T.dscalar("k"))
    with pytest.raises(ValueError, match="n_steps must be an int"):
        th.scan(lambda p: p + 1, outputs_info=T.dscalar("x0"), n_steps=2.5)


def test_an_initial_state_shorter_than_its_taps_is_refused_at_run_time():
    f0 = T.dvector("f0")
    fib, _ = th.scan(lambda a, b, c: a + b + c, outputs_info=dict(initial=f0, taps=[-3, -2, -1]), n_steps=4)
    f = th.function([f0], fib)
    with pytest.raises(ValueError, match=r"initial state of output 0 has 2 rows, but its taps \[-3, -2, -1\] need 3"):
        f(np.array([1.0, 2.0]))
    assert f(np.array([1.0, 2.0, 3.0])).shape == (4,)


def test_a_sequence_shorter_than_its_taps_span_is_refused_at_run_time():
    x = T.dvector("x")
    out, _ = th.scan(lambda a, b, c: a + b + c, sequences=dict(input=x, taps=[-1, 0, 1]))
    f = th.function([x], out)
    with pytest.raises(ValueError, match=r"sequence 0 has 1 rows, but its taps \[-1, 0, 1\] need at least 2"):
        f(np.array([1.0]))
    assert f(np.array([1.0, 2.0])).shape == (0,)


def test_a_scalar_sequence_is_refused():
    with pytest.raises(ValueError, match="sequence 0 .* is a scalar"):
        th.scan(lambda v: v, sequences=T.dscalar("s"))


# ---------------------------------------------------------------------------
# types (§4.4)
# ---------------------------------------------------------------------------

def test_a_float32_initial_state_for_a_float64_result_names_both_dtypes():
    # The trap of §4.4: a Python float constant is float32.
    x = T.dvector("x")
    with pytest.raises(ValueError, match=r"has dtype float32, while the result of the inner function \(`fn`\) has dtype float64"):
        th.scan(lambda v, acc: acc + v, sequences=x, outputs_info=T.constant(0.0))


def test_an_initial_state_of_the_wrong_ndim_explains_the_leading_dimension():
    x = T.dmatrix("x")
    with pytest.raises(ValueError, match=r"gives the step function values of 0 dimension\(s\), while the result of the inner function \(`fn`\) has 1 dimension"):
        th.scan(lambda row, acc: acc + row, sequences=x, outputs_info=T.dscalar("acc0"))


def test_a_broadcast_pattern_mismatch_is_a_type_error_that_suggests_unbroadcast():
    x = T.dmatrix("x")
    row0 = T.TensorType("float64", (True,))("row0")
    with pytest.raises(TypeError, match="should have the same type but have type 'TensorType\\(float64, \\(True,\\)\\)' and 'TensorType\\(float64, vector\\)'"):
        th.scan(lambda r, acc: acc + r, sequences=x, outputs_info=row0)


def test_output_taps_must_be_negative():
    with pytest.raises(ValueError, match="All the tap values must be smaller than 0."):
        th.scan(lambda a, b: a + b, outputs_info=dict(initial=T.dvector("v"), taps=[-1, 0]), n_steps=3)


def test_slices_of_an_output_need_an_initial_state():
    with pytest.raises(ValueError, match="you need to provide a initial state"):
        th.scan(lambda a: a, outputs_info=dict(taps=[-1]), n_steps=3)


def test_a_python_number_returned_by_the_step_function_is_refused():
    with pytest.raises(ValueError, match="may only be made of lists, tuples, or dictionaries containing"):
        th.scan(lambda v: 2.0, sequences=T.dvector("x"))
    with pytest.raises(ValueError, match="may only be made of lists"):
        th.scan(lambda v: [v, 1], sequences=T.dvector("x"))


def test_an_unparsable_return_value_is_refused():
    x = T.dvector("x")
    with pytest.raises(ValueError, match="Scan cannot parse the return value"):
        th.scan(lambda v: (v, th.scan_module.until(v > 0), th.scan_module.until(v > 1)), sequences=x)


def test_more_outputs_than_outputs_info_entries_asks_for_none_entries():
    x = T.dvector("x")
    with pytest.raises(ValueError, match="Please provide None as outputs_info"):
        th.scan(lambda v, acc: (acc + v, v * 2), sequences=x, outputs_info=[T.dscalar("a")])


def test_until_needs_a_scalar_condition():
    x = T.dvector("x")
    with pytest.raises(TypeError, match="until expects a scalar condition"):
        th.scan(lambda v: (v, th.scan_module.until(x > 0)), sequences=x)


def test_an_update_of_another_type_is_refused():
    c = th.shared(np.float64(0), name="c")
    x = T.dvector("x")
    with pytest.raises(TypeError, match="An update must have the same type as the original shared variable"):
        th.scan(lambda v: (v, {c: x}), sequences=x)


def test_an_update_target_that_is_no_shared_variable_is_refused():
    x = T.dvector("x")
    y = T.dscalar("y")
    with pytest.raises(TypeError, match="update target must be a SharedVariable"):
        th.scan(lambda v: (v, [(y, v)]), sequences=x)


def test_a_map_output_that_changes_shape_between_steps_is_refused():
    x = T.lvector("x")
    big = T.dvector("big")
    out, _ = th.scan(lambda n: big[:n], sequences=x)
    f = th.function([x, big], out)
    with pytest.raises(ValueError, match=r"step 1 computed output 0 of shape \[3\], but step 0 computed shape \[2\]"):
        f(np.array([2, 3]), np.arange(5.0))


def test_a_recurrent_output_that_changes_shape_is_refused():
    x0 = T.dvector("x0")
    out, _ = th.scan(lambda p: p[1:], outputs_info=x0, n_steps=2)
    f = th.function([x0], out)
    with pytest.raises(ValueError, match=r"step 0 computed output 0 of shape \[2\], but its recurrent state has shape \[3\]"):
        f(np.ones(3))


def test_an_error_inside_the_loop_names_the_step_and_the_scan():
    x = T.dmatrix("x")
    v = T.dvector("v")
    out, _ = th.scan(lambda row: T.dot(row, v), sequences=x, name="dots")
    f = th.function([x, v], out)
    with pytest.raises(ValueError, match="in step 0 of the inner function of scan 'dots'"):
        f(np.ones((2, 3)), np.ones(4))


# ---------------------------------------------------------------------------
# strict (§4.5)
# ---------------------------------------------------------------------------

def test_strict_refuses_a_captured_shared_variable_naming_it():
    W = th.shared(np.ones(3), name="W")
    x = T.dmatrix("x")
    with pytest.raises(th.MissingInputError, match="ScanOp is missing an input: W"):
        th.scan(lambda row: row * W, sequences=x, strict=True)
    out, _ = th.scan(lambda row, W_: row * W_, sequences=x, non_sequences=[W], strict=True)
    np.testing.assert_allclose(th.function([x], out)(np.full((2, 3), 2.0)), np.full((2, 3), 2.0))


def test_strict_refuses_a_captured_symbolic_variable():
    k = T.dscalar("k")
    with pytest.raises(th.MissingInputError, match="ScanOp is missing an input: k"):
        th.scan(lambda v: v * k, sequences=T.dvector("x"), strict=True)


# ---------------------------------------------------------------------------
# forgotten updates (§4.2 [rtensor])
# ---------------------------------------------------------------------------

def _counter_scan():
    state = th.shared(np.int64(0), name="rng_state")
    state.default_update = state + 1
    x = T.lvector("x")
    out, updates = th.scan(lambda v: v + state, sequences=x, name="sampler")
    return state, x, out, updates


def test_a_function_without_the_scan_updates_names_the_scan_and_the_state():
    state, x, out, _ = _counter_scan()
    with pytest.raises(th.MissingInputError) as e:
        th.function([x], out)
    msg = str(e.value)
    assert "scan 'sampler'" in msg and "rng_state" in msg and "updates=updates" in msg
    assert state.get_value() == 0


def test_with_the_scan_updates_the_state_advances_and_no_default_updates_keeps_it():
    state, x, out, updates = _counter_scan()
    f = th.function([x], out, updates=updates)
    np.testing.assert_array_equal(f(np.array([10, 20])), [10, 21])
    assert state.get_value() == 2
    g = th.function([x], out, no_default_updates=True)
    np.testing.assert_array_equal(g(np.array([10, 20])), [12, 23])
    assert state.get_value() == 2
    h = th.function([x], out, no_default_updates=[state])
    np.testing.assert_array_equal(h(np.array([10])), [12])
