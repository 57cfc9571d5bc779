"""Graph rewrites by name and tag: each rewrite shown on a graph before
(the rewrite excluded) and after, with the values of both compared on
random inputs; the stabilizations give finite values where the naive graph
overflows; the Mode API (`including`, `excluding`, `optimizer_excluding`)
turns rewrites on and off."""
import os
import re
import subprocess
import sys

import numpy as np
import pytest

import rtensor as th
from rtensor.compile.mode import FAST_COMPILE, FAST_RUN, Mode, get_mode

T = th.tensor
RNG = np.random.RandomState(42)
# Fusion hides the single ops these tests look at; it has its own tests.
NOFUSE = get_mode("FAST_RUN").excluding("fusion", "inplace")


def _op_name(node_text):
    depth = 0
    for i, ch in enumerate(node_text):
        if ch in "{[":
            depth += 1
        elif ch in "}]":
            depth -= 1
        elif ch == "(" and depth == 0:
            return node_text[:i]
    return node_text


def ops_of(f):
    return [_op_name(n) for n in f.maker.fgraph.toposort()]


def before_after(inputs, output, rewrite):
    """(compiled without `rewrite`, compiled with it), both unfused."""
    before = th.function(inputs, output, mode=NOFUSE.excluding(rewrite))
    after = th.function(inputs, output, mode=NOFUSE)
    return before, after


def assert_same_values(before, after, *args, **kw):
    np.testing.assert_allclose(after(*args), before(*args), **kw)


# ---------------------------------------------------------------------------
# the Mode API
# ---------------------------------------------------------------------------

def test_excluding_the_fusion_tag_keeps_elementwise_nodes_apart():
    x = T.dvector("x")
    fused = th.function([x], x * 2 + 1)
    apart = th.function([x], x * 2 + 1, mode=get_mode("FAST_RUN").excluding("fusion", "inplace"))
    assert ops_of(fused) == ["Elemwise{Composite{(i0 + (i1 * i2))}}"]
    assert ops_of(apart) == ["Elemwise{mul,no_inplace}", "Elemwise{add,no_inplace}"]
    v = RNG.randn(7)
    np.testing.assert_array_equal(apart(v), fused(v))


def test_excluding_inplace_keeps_every_node_writing_a_fresh_buffer():
    x = T.dvector("x")
    mode = get_mode("FAST_RUN").excluding("fusion")
    inplace = th.function([x], T.exp(x) + 1, mode=mode)
    fresh = th.function([x], T.exp(x) + 1, mode=mode.excluding("inplace"))
    assert ops_of(inplace) == ["Elemwise{exp,no_inplace}", "Elemwise{Add}[(0, 1)]"]
    assert ops_of(fresh) == ["Elemwise{exp,no_inplace}", "Elemwise{add,no_inplace}"]
    v = RNG.randn(5)
    np.testing.assert_array_equal(inplace(v), fresh(v))


def test_excluding_a_rewrite_by_its_name_works_like_its_tag():
    x = T.dvector("x")
    f = th.function([x], x * 2 + 1, mode=get_mode("FAST_RUN").excluding("local_elemwise_fusion", "inplace"))
    assert ops_of(f) == ["Elemwise{mul,no_inplace}", "Elemwise{add,no_inplace}"]


def test_including_a_tag_adds_its_rewrites_to_fast_compile():
    x = T.dvector("x")
    plain = th.function([x], T.log(1 + x), mode="FAST_COMPILE")
    stable = th.function([x], T.log(1 + x), mode=get_mode("FAST_COMPILE").including("stabilize"))
    assert ops_of(plain) == ["Elemwise{add,no_inplace}", "Elemwise{log,no_inplace}"]
    assert ops_of(stable) == ["Elemwise{log1p,no_inplace}"]


def test_unknown_rewrite_names_are_ignored():
    x = T.dvector("x")
    f = th.function([x], x * 2 + 1, mode=get_mode("FAST_RUN").excluding("no_such_rewrite").including("nor_this"))
    assert ops_of(f) == ["Elemwise{Composite{(i0 + (i1 * i2))}}"]


def test_mode_objects_are_immutable_and_chain():
    m = get_mode("FAST_RUN")
    e = m.excluding("fusion")
    assert e is not m and m.rewrite_lists() == ([], [])
    assert e.excluding("merge").rewrite_lists() == ([], ["fusion", "merge"])
    assert e.including("stabilize").rewrite_lists() == (["stabilize"], ["fusion"])


def test_a_mode_built_from_an_optimizer_name_selects_its_rewrites():
    x = T.dvector("x")
    fast_compile = th.function([x], T.log(1 + x), mode=Mode(linker="py", optimizer="fast_compile"))
    fast_run = th.function([x], T.log(1 + x), mode=Mode(optimizer="fast_run").excluding("fusion", "inplace"))
    assert ops_of(fast_compile) == ["Elemwise{add,no_inplace}", "Elemwise{log,no_inplace}"]
    assert ops_of(fast_run) == ["Elemwise{log1p,no_inplace}"]
    assert th.Mode is Mode
    with pytest.raises(ValueError, match="Unknown optimizer"):
        Mode(optimizer="o9")


def test_optimizer_none_runs_no_rewrite_at_all():
    f = th.function([], T.constant(2.0) * T.constant(3.0), mode=Mode(optimizer="None"))
    assert ops_of(f) == ["Elemwise{mul,no_inplace}"]
    assert f() == 6.0
    folded = th.function([], T.constant(2.0) * T.constant(3.0), mode=Mode(optimizer="fast_compile"))
    assert ops_of(folded) == ["DeepCopyOp"]


def test_mode_names_still_work_and_the_maker_keeps_the_mode():
    x = T.dvector("x")
    for name in ["FAST_RUN", "FAST_COMPILE", "DebugMode", "Mode"]:
        f = th.function([x], x * 2, mode=name)
        np.testing.assert_array_equal(f(np.arange(3.0)), [0.0, 2.0, 4.0])
        assert isinstance(f.maker.mode, Mode)
    assert th.function([x], x * 2, mode=FAST_COMPILE).maker.mode is FAST_COMPILE
    assert th.function([x], x * 2, mode=FAST_RUN).maker.mode.name == "FAST_RUN"


def test_config_optimizer_excluding_applies_to_modes_given_by_name():
    x = T.dvector("x")
    with th.change_flags(optimizer_excluding="fusion:local_log1p:inplace"):
        f = th.function([x], T.log(1 + x) * 2)
        assert get_mode("FAST_RUN").rewrite_lists() == ([], ["fusion", "local_log1p", "inplace"])
    assert ops_of(f) == ["Elemwise{add,no_inplace}", "Elemwise{log,no_inplace}", "Elemwise{mul,no_inplace}"]
    g = th.function([x], T.log(1 + x) * 2)
    assert ops_of(g) == ["Elemwise{Composite{(i0 * log1p(i1))}}"]


def test_config_optimizer_including_adds_rewrites_to_fast_compile():
    x = T.dvector("x")
    with th.change_flags(optimizer_including="local_log1p"):
        f = th.function([x], T.log(1 + x), mode="FAST_COMPILE")
    assert ops_of(f) == ["Elemwise{log1p,no_inplace}"]


def test_optimizer_excluding_is_read_from_rtensor_flags():
    code = ("import rtensor as th; x = th.tensor.dvector('x'); "
            "f = th.function([x], x * 2 + 1); print(len(f.maker.fgraph.toposort()))")
    env = dict(os.environ, RTENSOR_FLAGS="optimizer_excluding=fusion")
    out = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "2"


def test_debugmode_accepts_excluding():
    from rtensor.compile.debugmode import DebugMode

    x = T.dvector("x")
    f = th.function([x], T.log(1 + x), mode=DebugMode().excluding("local_log1p", "fusion", "inplace"))
    assert ops_of(f) == ["Elemwise{add,no_inplace}", "Elemwise{log,no_inplace}"]
    np.testing.assert_allclose(f(np.array([0.5])), np.log(1.5))


# ---------------------------------------------------------------------------
# neutral elements, double negation
# ---------------------------------------------------------------------------

@pytest.mark.parametrize("build", [lambda x: x * 1, lambda x: 1 * x, lambda x: x + 0, lambda x: 0 + x,
                                   lambda x: x - 0, lambda x: x / 1, lambda x: x * 1 + 0])
def test_neutral_elements_leave_the_variable_itself(build):
    x = T.dmatrix("x")
    before = th.function([x], build(x), mode="FAST_COMPILE")
    after = th.function([x], build(x), mode=NOFUSE)
    assert ops_of(after) == ["DeepCopyOp"]
    assert ops_of(before) != ["DeepCopyOp"]
    v = RNG.randn(3, 4)
    np.testing.assert_array_equal(after(v), before(v))


def test_v_times_1_plus_0_prints_as_a_deep_copy_of_v():
    v = T.dvector("v")
    f = th.function([v], v * 1 + 0)
    assert th.printing.debugprint(f, file="str").splitlines() == ["DeepCopyOp [id A] 'v'   0", " |v [id B]"] \
        or ops_of(f) == ["DeepCopyOp"]


def test_a_neutral_constant_that_upcasts_leaves_a_cast():
    x = T.ivector("x")
    before, after = before_after([x], x * 1.0, "local_mul_specialize")
    assert ops_of(before) == ["Elemwise{mul,no_inplace}"]
    assert ops_of(after) == ["Elemwise{Cast{float64}}"]
    v = np.arange(-3, 4, dtype="int32")
    assert after(v).dtype == before(v).dtype == np.float64
    np.testing.assert_array_equal(after(v), before(v))


def test_true_division_of_integers_by_one_is_a_cast_to_float():
    x = T.lvector("x")
    before, after = before_after([x], x / 1, "local_mul_specialize")
    assert ops_of(after) == ["Elemwise{Cast{float64}}"]
    v = np.array([-7, 0, 9])
    np.testing.assert_array_equal(after(v), before(v))


def test_times_minus_one_becomes_a_negation():
    x = T.dvector("x")
    before, after = before_after([x], x * -1, "local_mul_specialize")
    assert ops_of(before) == ["Elemwise{mul,no_inplace}"]
    assert ops_of(after) == ["Elemwise{neg,no_inplace}"]
    assert_same_values(before, after, RNG.randn(5))


def test_a_zero_that_decides_the_shape_is_kept():
    x = T.row("x", dtype="float64")
    out = x + np.zeros((3, 4))
    f = th.function([x], out, mode=NOFUSE)
    assert "Elemwise{add,no_inplace}" in ops_of(f)
    assert f(np.ones((1, 4))).shape == (3, 4)


def test_times_zero_is_not_folded_because_of_nan_and_inf():
    x = T.dvector("x")
    f = th.function([x], x * 0, mode=NOFUSE)
    assert ops_of(f) == ["Elemwise{mul,no_inplace}"]
    np.testing.assert_array_equal(f(np.array([np.nan, np.inf, 2.0])), [np.nan, np.nan, 0.0])


def test_double_negation_cancels():
    x = T.dmatrix("x")
    before, after = before_after([x], -(-x), "local_neg_neg")
    assert ops_of(before) == ["Elemwise{neg,no_inplace}", "Elemwise{neg,no_inplace}"]
    assert ops_of(after) == ["DeepCopyOp"]
    assert_same_values(before, after, RNG.randn(2, 3))


def test_triple_negation_leaves_one():
    x = T.dvector("x")
    f = th.function([x], -(-(-x)) * 3, mode=NOFUSE)
    assert ops_of(f).count("Elemwise{neg,no_inplace}") == 1


# ---------------------------------------------------------------------------
# flattened sums and products (the algebraic canonizer)
# ---------------------------------------------------------------------------

CANONIZERS = ("local_add_canonizer", "local_mul_canonizer")


def test_the_constants_of_a_sum_fold_into_one():
    x = T.dmatrix("x")
    before, after = before_after([x], (x + 1) + 2 - 0.5, "algebraic_canonizer")
    assert ops_of(before) == ["Elemwise{add,no_inplace}", "Elemwise{add,no_inplace}",
                              "Elemwise{sub,no_inplace}"]
    assert ops_of(after) == ["Elemwise{add,no_inplace}"]
    assert "2.5" in th.printing.debugprint(after, file="str")
    assert_same_values(before, after, RNG.randn(3, 4))


def test_the_constants_of_a_product_fold_into_one():
    x = T.dvector("x")
    before, after = before_after([x], (2 * x) * 3 / 4, "local_mul_canonizer")
    assert len(ops_of(before)) == 3
    assert ops_of(after) == ["Elemwise{mul,no_inplace}"]
    assert "1.5" in th.printing.debugprint(after, file="str")
    assert_same_values(before, after, RNG.randn(6))


def test_a_term_added_and_subtracted_cancels_and_still_decides_the_shape():
    m = T.dmatrix("m")
    r = T.drow("r")
    before, after = before_after([m, r], m + r - m, "local_add_canonizer")
    assert ops_of(before) == ["Elemwise{add,no_inplace}", "Elemwise{sub,no_inplace}"]
    assert ops_of(after) == ["Elemwise{second,no_inplace}"]
    mv, rv = RNG.randn(4, 3), RNG.randn(1, 3)
    assert after(mv, rv).shape == (4, 3)
    assert_same_values(before, after, mv, rv)


def test_a_cancelled_term_whose_shape_another_term_has_leaves_no_fill():
    x = T.dmatrix("x")
    f = th.function([x], (x + 2 * x) - x, mode=NOFUSE)
    assert ops_of(f) == ["Elemwise{mul,no_inplace}"]
    v = RNG.randn(2, 5)
    np.testing.assert_allclose(f(v), 2 * v)


def test_x_minus_x_is_zeros_of_the_shape_of_x():
    x = T.dmatrix("x")
    before, after = before_after([x], x - x, "local_add_canonizer")
    assert ops_of(before) == ["Elemwise{sub,no_inplace}"]
    assert ops_of(after) == ["Elemwise{second,no_inplace}"]
    v = RNG.randn(3, 2)
    np.testing.assert_array_equal(after(v), np.zeros((3, 2)))
    assert_same_values(before, after, v)


def test_a_factor_multiplied_and_divided_by_cancels():
    x, y = T.dvectors("x", "y")
    before, after = before_after([x, y], x * y / x * 5 / y * 2, "local_mul_canonizer")
    assert "Elemwise{true_div,no_inplace}" in ops_of(before)
    assert "Elemwise{true_div,no_inplace}" not in ops_of(after)
    assert "Elemwise{mul,no_inplace}" not in ops_of(after)
    xv, yv = RNG.uniform(0.5, 2, 5), RNG.uniform(0.5, 2, 5)
    np.testing.assert_allclose(after(xv, yv), np.full(5, 10.0))
    assert_same_values(before, after, xv, yv)


def test_what_is_left_after_division_is_a_division():
    x, y, z = T.dvectors("x", "y", "z")
    before, after = before_after([x, y, z], (x / y) / z * y * 2 / 4, "local_mul_canonizer")
    assert ops_of(after).count("Elemwise{true_div,no_inplace}") == 1
    assert len(ops_of(after)) < len(ops_of(before))
    xv, yv, zv = (RNG.uniform(0.5, 2, 4) for _ in range(3))
    assert_same_values(before, after, xv, yv, zv)


def test_constants_that_would_overflow_together_are_not_folded():
    x = T.dvector("x")
    f = th.function([x], (x * 1e300) * 1e10, mode=NOFUSE)
    assert ops_of(f) == ["Elemwise{mul,no_inplace}", "Elemwise{mul,no_inplace}"]
    np.testing.assert_allclose(f(np.array([1e-20])), [1e290])


def test_an_inner_sum_read_elsewhere_stays_a_term():
    x = T.dvector("x")
    s = x + 1
    f = th.function([x], [s + 2, s * 3], mode=NOFUSE)
    assert ops_of(f).count("Elemwise{add,no_inplace}") == 2
    v = RNG.randn(4)
    for got, want in zip(f(v), [v + 3, (v + 1) * 3]):
        np.testing.assert_allclose(got, want)


def test_integer_sums_are_left_to_run_time():
    i = T.ivector("i")
    f = th.function([i], (i + 1) + 2, mode=NOFUSE)
    assert ops_of(f) == ["Elemwise{add,no_inplace}", "Elemwise{add,no_inplace}"]
    np.testing.assert_array_equal(f(np.array([1, 2], dtype="int32")), [4, 5])


def test_excluding_the_canonizers_keeps_the_chain():
    x = T.dvector("x")
    f = th.function([x], (x + 1) + 2, mode=NOFUSE.excluding(*CANONIZERS))
    assert ops_of(f) == ["Elemwise{add,no_inplace}", "Elemwise{add,no_inplace}"]


def _random_chain(rng, leaves, depth):
    """A random expression of + - * / and negation over leaves and small constants."""
    if depth == 0 or rng.rand() < 0.2:
        k = rng.randint(len(leaves) + 2)
        return leaves[k] if k < len(leaves) else float(rng.choice([0.5, 2.0, 3.0]))
    a = _random_chain(rng, leaves, depth - 1)
    b = _random_chain(rng, leaves, depth - 1)
    op = rng.randint(5)
    if op == 4:
        return -a if not isinstance(a, float) else a * -1.0
    if isinstance(a, float) and isinstance(b, float):
        return leaves[0] + a
    return [lambda: a + b, lambda: a - b, lambda: a * b, lambda: a / b][op]()


@pytest.mark.parametrize("seed", range(12))
def test_random_chains_give_the_values_of_fast_compile(seed):
    rng = np.random.RandomState(seed)
    x, y = T.dmatrix("x"), T.drow("y")
    out = _random_chain(rng, [x, y, x * y], 5)
    if isinstance(out, float):
        out = x + out
    fast = th.function([x, y], out, on_unused_input="ignore")
    reference = th.function([x, y], out, mode="FAST_COMPILE", on_unused_input="ignore")
    xv, yv = rng.uniform(0.5, 2, (3, 4)), rng.uniform(0.5, 2, (1, 4))
    np.testing.assert_allclose(fast(xv, yv), reference(xv, yv), rtol=1e-9, atol=1e-9)


# ---------------------------------------------------------------------------
# fills out of arithmetic (the gradient of a sum)
# ---------------------------------------------------------------------------

def _has_fill(f):
    return any("second" in name for name in ops_of(f))


def test_the_l2_gradient_no_longer_reads_the_squares_through_a_fill():
    W = T.dmatrix("W")
    g = T.grad(1e-4 * (W ** 2).sum(), W)
    before, after = before_after([W], g, "fill")
    assert _has_fill(before)
    assert not _has_fill(after)
    assert "Elemwise{sqr,no_inplace}" not in ops_of(after)
    assert_same_values(before, after, RNG.randn(5, 4), rtol=1e-12)


def test_an_l2_weight_update_compiles_without_the_squares_of_the_weights():
    # W - lr * (x.T y + grad(l2 * sum(W**2))): the fill of W**2's shape is
    # cut where it meets W instead of sinking to the top of the update, so
    # W**2 is not computed at all.
    W, x, y = T.dmatrix("W"), T.dmatrix("x"), T.dmatrix("y")
    cost = (T.dot(x, W) * y).sum() + 1e-4 * (W ** 2).sum()
    new_W = W - 0.01 * T.grad(cost, W)
    f = th.function([W, x, y], new_W)
    assert not any("sqr" in name for name in ops_of(f)), ops_of(f)
    Wv, xv, yv = RNG.randn(4, 3), RNG.randn(5, 4), RNG.randn(5, 3)
    np.testing.assert_allclose(f(Wv, xv, yv), Wv - 0.01 * (xv.T @ yv + 2e-4 * Wv), rtol=1e-12)


def test_a_fill_sinks_below_arithmetic_on_its_value():
    m, s = T.dmatrix("m"), T.dscalar("s")
    out = T.fill(m, s) * 2 + 1
    before, after = before_after([m, s], out, "local_fill_sink")
    # After: the arithmetic runs on the scalar, and one fill spreads it.
    assert ops_of(after)[-1] == "Elemwise{second,no_inplace}"
    assert sum("second" in o for o in ops_of(after)) == 1
    assert_same_values(before, after, RNG.randn(3, 2), 0.5)


def test_a_fill_is_cut_where_another_operand_of_the_same_shape_remains():
    x, s = T.dmatrix("x"), T.dscalar("s")
    out = T.fill(T.exp(x), s) * x
    before = th.function([x, s], out, mode=NOFUSE.excluding("fill"))
    after = th.function([x, s], out, mode=NOFUSE.excluding("local_fill_sink", "local_useless_fill"))
    assert _has_fill(before) and not _has_fill(after)
    assert_same_values(before, after, RNG.randn(3, 2), 1.5)


def test_a_fill_whose_shape_is_not_proven_is_kept_for_run_time_broadcasting():
    # x of shape (2, 1) broadcasts against the model (2, 3) at run time, so
    # the fill still decides the result's shape.
    m, x, s = T.dmatrix("m"), T.dmatrix("x"), T.dscalar("s")
    f = th.function([m, x, s], T.fill(m, s) * x, mode=NOFUSE)
    assert _has_fill(f)
    out = f(np.zeros((2, 3)), np.ones((2, 1)), 2.0)
    np.testing.assert_array_equal(out, np.full((2, 3), 2.0))


def test_a_fill_of_a_value_with_the_model_shape_is_the_value():
    x = T.dmatrix("x")
    out = T.fill(x, T.exp(x))
    before, after = before_after([x], out, "local_useless_fill")
    assert _has_fill(before) and not _has_fill(after)
    assert_same_values(before, after, RNG.randn(3, 2))


# ---------------------------------------------------------------------------
# useless ops
# ---------------------------------------------------------------------------

def test_transpose_of_transpose_is_the_matrix():
    x = T.dmatrix("x")
    before, after = before_after([x], x.T.T, "local_dimshuffle_dimshuffle")
    assert ops_of(before) == ["InplaceDimShuffle{1,0}", "InplaceDimShuffle{1,0}", "DeepCopyOp"]
    assert ops_of(after) == ["DeepCopyOp"]
    assert_same_values(before, after, RNG.randn(2, 3))


def test_consecutive_dimshuffles_become_one():
    x = T.dvector("x")
    out = x.dimshuffle(0, "x").dimshuffle("x", 1, 0) * 2
    before, after = before_after([x], out, "local_dimshuffle_dimshuffle")
    assert ops_of(before)[:2] == ["InplaceDimShuffle{0,x}", "InplaceDimShuffle{x,1,0}"]
    assert [o for o in ops_of(after) if "DimShuffle" in o] == ["InplaceDimShuffle{x,x,0}"]
    v = RNG.randn(4)
    assert after(v).shape == (1, 1, 4)
    assert_same_values(before, after, v)


def test_identity_dimshuffle_is_removed():
    x = T.dmatrix("x")
    out = x.dimshuffle(0, 1) + 1
    before, after = before_after([x], out, "local_useless_dimshuffle")
    assert "InplaceDimShuffle{0,1}" in ops_of(before)
    assert not any("DimShuffle" in o for o in ops_of(after))
    assert_same_values(before, after, RNG.randn(2, 3))


def test_cast_to_the_same_dtype_is_removed():
    x = T.fvector("x")
    out = T.cast(x, "float32") * 2
    before, after = before_after([x], out, "local_useless_cast")
    assert ops_of(after) == ["Elemwise{mul,no_inplace}"]
    v = RNG.randn(3).astype("float32")
    assert after(v).dtype == np.float32
    assert_same_values(before, after, v)


def test_reshape_to_the_own_shape_is_removed():
    x = T.dtensor3("x")
    out = x.reshape((x.shape[0], x.shape[1], x.shape[2])) * 2
    before, after = before_after([x], out, "local_useless_reshape")
    assert "Reshape{3}" in ops_of(before)
    assert ops_of(after) == ["Elemwise{mul,no_inplace}"]
    assert_same_values(before, after, RNG.randn(2, 3, 4))
    y = T.dmatrix("y")
    g = th.function([y], y.reshape(y.shape, ndim=2) + 1, mode=NOFUSE)
    assert ops_of(g) == ["Elemwise{add,no_inplace}"]


def test_a_reshape_to_another_shape_is_kept():
    x = T.dmatrix("x")
    f = th.function([x], x.reshape((x.shape[1], x.shape[0])), mode=NOFUSE)
    assert "Reshape{2}" in ops_of(f)
    v = RNG.randn(2, 3)
    np.testing.assert_array_equal(f(v), v.reshape(3, 2))


def test_a_vector_reshaped_to_a_vector_is_the_vector():
    x = T.dvector("x")
    f = th.function([x], x.reshape((x.shape[0],)) * 2, mode=NOFUSE)
    assert ops_of(f) == ["Elemwise{mul,no_inplace}"]


def test_full_slices_are_removed():
    x = T.dmatrix("x")
    before, after = before_after([x], x[:, :] * 2, "local_useless_subtensor")
    assert any(o.startswith("Subtensor") for o in ops_of(before))
    assert ops_of(after) == ["Elemwise{mul,no_inplace}"]
    assert_same_values(before, after, RNG.randn(3, 2))


def test_partial_slices_are_kept():
    x = T.dvector("x")
    f = th.function([x], x[1:] * 2, mode=NOFUSE)
    assert any(o.startswith("Subtensor") for o in ops_of(f))
    np.testing.assert_array_equal(f(np.arange(4.0)), [2.0, 4.0, 6.0])


# ---------------------------------------------------------------------------
# stabilization
# ---------------------------------------------------------------------------

def test_log_of_softmax_becomes_logsoftmax_and_stays_finite():
    x = T.dmatrix("x")
    out = T.log(T.nnet.softmax(x))
    naive = th.function([x], out, mode="FAST_COMPILE")
    before, after = before_after([x], out, "local_logsoftmax")
    assert ops_of(after) == ["LogSoftmax"]
    assert ops_of(before) == ["Softmax", "Elemwise{log,no_inplace}"]
    v = RNG.randn(4, 5)
    assert_same_values(naive, after, v, rtol=1e-12)
    big = np.array([[1000.0, 0.0, -1000.0]])
    assert np.isneginf(naive(big)).any()
    np.testing.assert_allclose(after(big), [[0.0, -1000.0, -2000.0]])


def test_log_of_softmax_with_bias_becomes_logsoftmax_of_the_sum():
    x, b = T.dmatrix("x"), T.dvector("b")
    out = T.log(T.nnet.softmax_with_bias(x, b))
    naive = th.function([x, b], out, mode="FAST_COMPILE")
    f = th.function([x, b], out, mode=NOFUSE)
    assert "LogSoftmax" in ops_of(f) and "SoftmaxWithBias" not in ops_of(f)
    assert_same_values(naive, f, RNG.randn(3, 4), RNG.randn(4), rtol=1e-12)


@pytest.mark.parametrize("dtype", ["float64", "float32"])
def test_log_of_sigmoid_becomes_minus_softplus_of_minus_x(dtype):
    x = T.vector("x", dtype=dtype)
    out = T.log(T.nnet.sigmoid(x))
    naive = th.function([x], out, mode="FAST_COMPILE")
    before, after = before_after([x], out, "logsigm_to_softplus")
    assert ops_of(before) == ["sigmoid", "Elemwise{log,no_inplace}"]
    assert ops_of(after) == ["Elemwise{neg,no_inplace}", "softplus", "Elemwise{neg,no_inplace}"]
    v = RNG.randn(6).astype(dtype)
    assert_same_values(naive, after, v, rtol=1e-5)
    assert after(v).dtype == dtype
    big = np.array([-800.0, -50.0], dtype=dtype)
    assert np.isneginf(naive(big)).any()
    np.testing.assert_allclose(after(big), big, rtol=1e-5)


def test_log_of_one_minus_sigmoid_becomes_minus_softplus():
    x = T.dvector("x")
    out = T.log(1 - T.nnet.sigmoid(x))
    naive = th.function([x], out, mode="FAST_COMPILE")
    before, after = before_after([x], out, "log1msigm_to_softplus")
    assert ops_of(after) == ["softplus", "Elemwise{neg,no_inplace}"]
    v = RNG.randn(6)
    assert_same_values(naive, after, v, rtol=1e-12)
    assert np.isneginf(naive(np.array([800.0]))).all()
    np.testing.assert_allclose(after(np.array([800.0])), [-800.0])


def test_log_of_one_plus_exp_becomes_softplus():
    x = T.dvector("x")
    out = T.log(1 + T.exp(x))
    naive = th.function([x], out, mode="FAST_COMPILE")
    before, after = before_after([x], out, "log1pexp_to_softplus")
    assert ops_of(after) == ["softplus"]
    assert_same_values(naive, after, RNG.randn(6), rtol=1e-12)
    assert np.isposinf(naive(np.array([800.0]))).all()
    np.testing.assert_allclose(after(np.array([800.0])), [800.0])


@pytest.mark.parametrize("build", [lambda x: T.log(1 + x), lambda x: T.log(x + 1)])
def test_log_of_one_plus_x_becomes_log1p(build):
    x = T.dmatrix("x")
    naive = th.function([x], build(x), mode="FAST_COMPILE")
    before, after = before_after([x], build(x), "local_log1p")
    assert ops_of(before) == ["Elemwise{add,no_inplace}", "Elemwise{log,no_inplace}"]
    assert ops_of(after) == ["Elemwise{log1p,no_inplace}"]
    assert_same_values(naive, after, np.abs(RNG.randn(2, 3)), rtol=1e-12)
    tiny = np.array([[1e-20, 1e-30]])
    assert (naive(tiny) == 0).all()
    np.testing.assert_allclose(after(tiny), tiny)


def test_log_of_one_minus_x_becomes_log1p_of_minus_x():
    x = T.dvector("x")
    naive = th.function([x], T.log(1 - x), mode="FAST_COMPILE")
    f = th.function([x], T.log(1 - x), mode=NOFUSE)
    assert ops_of(f) == ["Elemwise{neg,no_inplace}", "Elemwise{log1p,no_inplace}"]
    assert_same_values(naive, f, RNG.rand(5) * 0.9, rtol=1e-12)
    np.testing.assert_allclose(f(np.array([1e-20])), [-1e-20])


def test_integer_log_of_one_plus_x_is_left_alone():
    x = T.bvector("x")
    f = th.function([x], T.log(1 + x), mode=NOFUSE)
    assert "Elemwise{log1p,no_inplace}" not in ops_of(f)


def test_exp_minus_one_becomes_expm1():
    x = T.dvector("x")
    naive = th.function([x], T.exp(x) - 1, mode="FAST_COMPILE")
    before, after = before_after([x], T.exp(x) - 1, "local_expm1")
    assert ops_of(before) == ["Elemwise{exp,no_inplace}", "Elemwise{sub,no_inplace}"]
    assert ops_of(after) == ["Elemwise{expm1,no_inplace}"]
    assert_same_values(naive, after, RNG.randn(5), rtol=1e-12)
    assert naive(np.array([1e-20]))[0] == 0
    np.testing.assert_allclose(after(np.array([1e-20])), [1e-20])


def _xent_inputs(n=5, k=4):
    return RNG.randn(n, k), RNG.randn(k), RNG.randint(0, k, size=n).astype("int32")


def test_categorical_crossentropy_of_softmax_plus_bias_is_fused():
    x, b, y = T.dmatrix("x"), T.dvector("b"), T.ivector("y")
    out = T.nnet.categorical_crossentropy(T.nnet.softmax(x + b), y)
    naive = th.function([x, b, y], out, mode="FAST_COMPILE")
    before, after = before_after([x, b, y], out, "crossentropy_to_crossentropy_with_softmax_with_bias")
    assert "CrossentropyCategorical1Hot" in ops_of(before)
    assert "CrossentropySoftmaxArgmax1HotWithBias" in ops_of(after)
    assert "Softmax" not in ops_of(after) and "CrossentropyCategorical1Hot" not in ops_of(after)
    assert_same_values(naive, after, *_xent_inputs(), rtol=1e-12)


def test_categorical_crossentropy_of_plain_softmax_gets_a_zero_bias():
    x, y = T.dmatrix("x"), T.ivector("y")
    out = T.nnet.categorical_crossentropy(T.nnet.softmax(x), y)
    naive = th.function([x, y], out, mode="FAST_COMPILE")
    f = th.function([x, y], out, mode=NOFUSE)
    assert "CrossentropySoftmaxArgmax1HotWithBias" in ops_of(f)
    xv, _, yv = _xent_inputs()
    assert_same_values(naive, f, xv, yv, rtol=1e-12)


def test_the_tutorial_negative_log_likelihood_uses_the_fused_crossentropy():
    x, y = T.dmatrix("x"), T.ivector("y")
    W, b = T.dmatrix("W"), T.dvector("b")
    p_y_given_x = T.nnet.softmax(T.dot(x, W) + b)
    nll = -T.mean(T.log(p_y_given_x)[T.arange(y.shape[0]), y])
    naive = th.function([x, W, b, y], nll, mode="FAST_COMPILE")
    f = th.function([x, W, b, y], nll)
    assert "CrossentropySoftmaxArgmax1HotWithBias" in ops_of(f)
    assert "AdvancedSubtensor" not in ops_of(f)
    xv, yv = RNG.randn(6, 3), RNG.randint(0, 4, size=6).astype("int32")
    Wv, bv = RNG.randn(3, 4), RNG.randn(4)
    np.testing.assert_allclose(f(xv, Wv, bv, yv), naive(xv, Wv, bv, yv), rtol=1e-12)
    # Large activations: the naive graph's log underflows to -inf.
    big = xv * 1000
    assert np.isinf(naive(big, Wv, bv, yv)) or np.isfinite(f(big, Wv, bv, yv))
    assert np.isfinite(f(big, Wv, bv, yv))


def _tutorial_nll(dtype="float64"):
    x, y = T.matrix("x", dtype=dtype), T.ivector("y")
    W = th.shared(RNG.randn(3, 4).astype(dtype), name="W")
    b = th.shared(RNG.randn(4).astype(dtype), name="b")
    p_y_given_x = T.nnet.softmax(T.dot(x, W) + b)
    nll = -T.mean(T.log(p_y_given_x)[T.arange(y.shape[0]), y])
    return x, y, W, b, nll


def _assert_nll_and_gradients_match(functions, naive, dtype):
    """Each function's loss and gradients equal the naive graph's, dtypes included."""
    xv = RNG.randn(7, 3).astype(dtype)
    yv = RNG.randint(0, 4, size=7).astype("int32")
    tol = 1e-5 if dtype == "float32" else 1e-12
    for f in functions:
        for got, want in zip(f(xv, yv), naive(xv, yv)):
            assert got.dtype == want.dtype
            np.testing.assert_allclose(got, want, rtol=tol, atol=tol)


def _tutorial_training_step(dtype, rewrite):
    """The tutorial loss and its gradients compiled naively (FAST_COMPILE),
    without `rewrite` and with it; also the inputs and outputs."""
    x, y, W, b, nll = _tutorial_nll(dtype)
    outputs = [nll] + T.grad(nll, [W, b])
    naive = th.function([x, y], outputs, mode="FAST_COMPILE")
    before, after = before_after([x, y], outputs, rewrite)
    return naive, before, after, [x, y], outputs


@pytest.mark.parametrize("dtype", ["float64", "float32"])
def test_the_gradient_of_the_negative_log_likelihood_uses_crossentropy_dx(dtype):
    naive, before, after, inputs, outputs = _tutorial_training_step(
        dtype, "local_advanced_indexing_crossentropy_onehot_grad")
    assert "SoftmaxGrad" in ops_of(before) and "AdvancedIncSubtensor" in " ".join(ops_of(before))
    assert "CrossentropySoftmax1HotWithBiasDx" in ops_of(after)
    assert "SoftmaxGrad" not in ops_of(after)
    assert not any(o.startswith("AdvancedIncSubtensor") for o in ops_of(after))
    fused = th.function(inputs, outputs)
    assert "CrossentropySoftmax1HotWithBiasDx" in " ".join(ops_of(fused))
    _assert_nll_and_gradients_match((before, after, fused), naive, dtype)


@pytest.mark.parametrize("dtype", ["float64", "float32"])
def test_the_gradient_reads_the_softmax_the_fused_loss_computed(dtype):
    naive, before, after, _, _ = _tutorial_training_step(dtype, "local_softmax_of_crossentropy")
    assert any(o.startswith("Softmax") for o in ops_of(before))
    assert not any(o.startswith("Softmax") for o in ops_of(after)), ops_of(after)
    text = th.debugprint(after, file="str")
    assert re.search(r"\|CrossentropySoftmaxArgmax1HotWithBias\.1 \[id \w+\]", text), text
    _assert_nll_and_gradients_match((before, after), naive, dtype)


def test_a_softmax_whose_labels_come_from_itself_is_not_replaced_by_the_fused_one():
    # The labels are the argmax of the softmax: the fused node reads them, so
    # it cannot also give the softmax they come from.
    x, b = T.dmatrix("x"), T.dvector("b")
    sm = T.nnet.softmax(x + b)
    y = T.argmax(sm, axis=1)
    nll = -T.mean(T.log(T.nnet.softmax(x + b))[T.arange(y.shape[0]), y])
    naive = th.function([x, b], [nll, sm], mode="FAST_COMPILE")
    f = th.function([x, b], [nll, sm])
    xv, bv = RNG.randn(5, 4), RNG.randn(4)
    for got, want in zip(f(xv, bv), naive(xv, bv)):
        np.testing.assert_allclose(got, want, rtol=1e-12)


def test_a_softmax_of_a_sum_with_a_row_becomes_softmax_with_bias():
    x, b, m = T.dmatrix("x"), T.dvector("b"), T.dmatrix("m")
    naive = th.function([x, b], T.nnet.softmax(x + b), mode="FAST_COMPILE")
    before, after = before_after([x, b], T.nnet.softmax(x + b), "local_softmax_with_bias")
    assert ops_of(after) == ["SoftmaxWithBias"]
    assert "Softmax" in ops_of(before)
    xv, bv = RNG.randn(5, 4), RNG.randn(4)
    assert_same_values(naive, after, xv, bv, rtol=1e-12)
    assert_same_values(before, after, xv, bv, rtol=1e-12)
    # A sum of two matrices has no bias row to split off.
    g = th.function([x, m], T.nnet.softmax(x + m), mode=NOFUSE)
    assert "SoftmaxWithBias" not in ops_of(g)


def test_the_length_of_the_fused_negative_log_likelihood_is_the_number_of_labels():
    x, y = T.dmatrix("x"), T.ivector("y")
    out = -T.log(T.nnet.softmax(x))[T.arange(y.shape[0]), y]
    f = th.function([x, y], out.shape[0], mode=NOFUSE)
    assert ops_of(f) == ["Shape_i{0}"]
    assert f(RNG.randn(3, 2), np.array([0, 1, 1], dtype="int32")) == 3


def test_indexing_other_rows_than_arange_is_not_fused():
    x, y, r = T.dmatrix("x"), T.ivector("y"), T.ivector("r")
    out = T.log(T.nnet.softmax(x))[r, y]
    f = th.function([x, y, r], out, mode=NOFUSE)
    assert "CrossentropySoftmaxArgmax1HotWithBias" not in ops_of(f)


# ---------------------------------------------------------------------------
# shapes
# ---------------------------------------------------------------------------

def test_the_shape_of_an_elementwise_result_never_computes_it():
    x = T.dmatrix("x")
    y = T.exp(x) * 2
    before, after = before_after([x], y.shape, "shape")
    assert "Shape" in ops_of(before) and "Elemwise{exp,no_inplace}" in ops_of(before)
    assert th.printing.debugprint(after, file="str").splitlines() == [
        "MakeVector{dtype='int64'} [id A] ''   2",
        " |Shape_i{0} [id B] ''   0",
        " | |x [id C]",
        " |Shape_i{1} [id D] ''   1",
        "   |x [id C]",
    ]
    v = RNG.randn(3, 5)
    np.testing.assert_array_equal(after(v), [3, 5])


def test_one_length_of_a_result_is_a_shape_i_of_the_input():
    x = T.dmatrix("x")
    f = th.function([x], T.tanh(x + 1).shape[1], mode=NOFUSE)
    assert ops_of(f) == ["Shape_i{1}"]
    assert f(RNG.randn(2, 7)) == 7


def test_shape_i_of_an_input_is_what_x_shape_0_compiles_to():
    x = T.dmatrix("x")
    f = th.function([x], x.shape[0])
    assert ops_of(f) == ["Shape_i{0}"]
    assert f(np.zeros((4, 2))) == 4


@pytest.mark.parametrize("case", ["dot", "dot_mv", "sum", "dimshuffle", "alloc", "join", "join_neg",
                                  "index", "reshape", "subtensor1", "broadcast"])
def test_shape_inference_of_ops_matches_the_computed_shape(case):
    a, b = T.dmatrix("a"), T.dmatrix("b")
    v, i = T.dvector("v"), T.lvector("i")
    n = T.lscalar("n")
    av, bv, vv = RNG.randn(3, 4), RNG.randn(4, 2), RNG.randn(4)
    iv, nv = np.array([2, 0, 1, 1, 2]), 6
    out, computed_op = {
        "dot": (T.dot(a, b), "dot"),
        "dot_mv": (T.dot(a, v), "dot"),
        "sum": (a.sum(axis=1) + a.max(axis=1), "Sum"),
        "dimshuffle": (T.exp(a).dimshuffle(1, "x", 0), "Elemwise{exp,no_inplace}"),
        "alloc": (T.alloc(T.exp(v[0]), n, 3), "Alloc"),
        "join": (T.concatenate([T.exp(a), T.exp(a) * 2], axis=0), "Join"),
        "join_neg": (T.concatenate([T.exp(a), b.T], axis=-1), "Join"),
        "index": (T.exp(a)[1], "Elemwise{exp,no_inplace}"),
        "reshape": (T.exp(a).reshape((2, 6)), "Elemwise{exp,no_inplace}"),
        "subtensor1": (T.exp(a)[i], "AdvancedSubtensor1"),
        "broadcast": (T.exp(a) + v.dimshuffle("x", 0), "Elemwise{exp,no_inplace}"),
    }[case]
    leaves = _inputs_of(out)
    inputs = [x for x in (a, b, v, i, n) if any(x is y for y in leaves)]
    vals = {id(a): av, id(b): bv if case != "join_neg" else RNG.randn(5, 3), id(v): vv, id(i): iv, id(n): nv}
    full = th.function(inputs, out, mode="FAST_COMPILE", on_unused_input="ignore")
    f = th.function(inputs, out.shape, mode=NOFUSE, on_unused_input="ignore")
    args = [vals[id(x)] for x in inputs]
    np.testing.assert_array_equal(f(*args), full(*args).shape)
    assert not any(o.startswith(computed_op) for o in ops_of(f)), ops_of(f)


def _inputs_of(out):
    seen, stack, found = set(), [out], []
    while stack:
        x = stack.pop()
        if id(x) in seen:
            continue
        seen.add(id(x))
        if x.owner is None:
            found.append(x)
        else:
            stack.extend(x.owner.inputs)
    return found


def test_excluding_the_shape_tag_keeps_the_shape_op():
    x = T.dmatrix("x")
    f = th.function([x], T.exp(x).shape, mode=NOFUSE.excluding("shape"))
    assert ops_of(f) == ["Elemwise{exp,no_inplace}", "Shape"]


# ---------------------------------------------------------------------------
# subtensor canonicalization
# ---------------------------------------------------------------------------

@pytest.mark.parametrize("n", [0, 1, 2, 3, 5, 12])
def test_a_slice_of_a_slice_is_one_slice(n):
    v = T.dvector("v")
    before, after = before_after([v], v[2:][1:], "local_subtensor_merge")
    # The result views the input, so it is copied out.
    assert ops_of(before) == ["Subtensor{int64::}", "Subtensor{int64::}", "DeepCopyOp"]
    assert ops_of(after) == ["Subtensor{int64::}", "DeepCopyOp"]
    text = th.printing.debugprint(after, file="str").splitlines()
    assert text[1].startswith(" |Subtensor{int64::} [id B] ''") and text[2:] == ["   |v [id C]", "   |Constant{3} [id D]"]
    x = np.arange(float(n))
    np.testing.assert_array_equal(after(x), x[2:][1:])
    np.testing.assert_array_equal(before(x), x[2:][1:])


@pytest.mark.parametrize("n", [0, 3, 5, 7, 12])
def test_slices_with_stops_merge_to_the_smaller_stop(n):
    m = T.dmatrix("m")
    out = m[2:8][1:4] * 2
    before, after = before_after([m], out, "local_subtensor_merge")
    assert [o for o in ops_of(after) if o.startswith("Subtensor")] == ["Subtensor{int64:int64:}"]
    x = RNG.randn(n, 2)
    np.testing.assert_array_equal(after(x), x[2:8][1:4] * 2)
    np.testing.assert_array_equal(before(x), after(x))


def test_reversing_twice_is_the_vector_itself():
    v = T.dvector("v")
    f = th.function([v], v[::-1][::-1] * 2, mode=NOFUSE)
    assert ops_of(f) == ["Elemwise{mul,no_inplace}"]
    np.testing.assert_array_equal(f(np.arange(4.0)), np.arange(4.0) * 2)


def test_slices_with_symbolic_or_negative_bounds_are_kept_apart():
    v, k = T.dvector("v"), T.lscalar("k")
    f = th.function([v, k], v[k:][1:], mode=NOFUSE)
    assert [o for o in ops_of(f) if o.startswith("Subtensor")] == ["Subtensor{int64::}", "Subtensor{int64::}"]
    g = th.function([v], v[-3:][1:], mode=NOFUSE)
    assert len([o for o in ops_of(g) if o.startswith("Subtensor")]) == 2
    x = np.arange(6.0)
    np.testing.assert_array_equal(f(x, 2), x[2:][1:])
    np.testing.assert_array_equal(g(x), x[-3:][1:])


def test_a_function_compiled_with_a_mode_object_pickles_with_it():
    import pickle

    x = T.dvector("x")
    f = th.function([x], T.log(1 + x), mode=get_mode("FAST_RUN").excluding("local_log1p", "fusion", "inplace"))
    g = pickle.loads(pickle.dumps(f))
    assert ops_of(g) == ["Elemwise{add,no_inplace}", "Elemwise{log,no_inplace}"]
    np.testing.assert_allclose(g(np.array([0.5])), np.log(1.5))
