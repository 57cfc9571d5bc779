"""Inplace ops (SPEC 9.1 "in-place", ARCHITECTURE "Memory"): the destroy
handler lets a node write over an input only when nothing reads it later and
it is memory the function made; FAST_RUN with inplace ops computes what
FAST_COMPILE (which has none) computes, and never touches the caller's
arrays or, when a call fails, the shared values."""
import re

import numpy as np
import pytest

import rtensor as th
from rtensor import _core

T = th.tensor
In = th.In


def _text(f, **kw):
    return th.printing.debugprint(f, file="str", **kw)


def _ops(f):
    return [line.split(" [id")[0].lstrip(" |") for line in _text(f).splitlines() if " [id" in line]


def _mat(*shape):
    return np.random.RandomState(sum(shape) + len(shape)).rand(*shape)


# --- which nodes become inplace ---------------------------------------------------------------


def test_an_elementwise_node_writes_over_an_intermediate_nobody_reads_later():
    x, y = T.dmatrix("x"), T.dmatrix("y")
    f = th.function([x, y], T.dot(x, y) + 1)
    assert "Elemwise{Add}[(0, 1)]" in _ops(f)
    a, b = _mat(3, 4), _mat(4, 2)
    np.testing.assert_allclose(f(a, b), a @ b + 1)


def test_the_inplace_path_really_runs_and_needs_no_fallback():
    x, y = T.dmatrix("x"), T.dmatrix("y")
    f = th.function([x, y], T.tanh(T.dot(x, y)) * 3)
    assert any(re.fullmatch(r"Elemwise\{.*\}\[\(0, 1\)\]", op) for op in _ops(f))
    before = _core.inplace_counts()
    for _ in range(3):
        f(_mat(5, 6), _mat(6, 7))
    after = _core.inplace_counts()
    assert after[0] - before[0] == 3
    assert after[1] == before[1]


def test_a_user_input_is_never_written_over():
    x = T.dmatrix("x")
    f = th.function([x], T.exp(x))
    assert _ops(f) == ["Elemwise{exp,no_inplace}", "x"]
    a = _mat(3, 3)
    keep = a.copy()
    np.testing.assert_allclose(f(a), np.exp(keep))
    np.testing.assert_array_equal(a, keep)


def test_a_value_read_by_a_later_node_is_not_written_over():
    x, y = T.dmatrix("x"), T.dmatrix("y")
    d = T.dot(x, y)
    f = th.function([x, y], [d + 1, d.sum()])
    ops = _ops(f)
    assert "Elemwise{add,no_inplace}" in ops
    assert not any("[(0," in op for op in ops)
    a, b = _mat(3, 4), _mat(4, 2)
    r = f(a, b)
    np.testing.assert_allclose(r[0], a @ b + 1)
    np.testing.assert_allclose(r[1], (a @ b).sum())


def test_a_shared_variable_is_not_written_over():
    s = th.shared(_mat(3, 3), name="s")
    x = T.dmatrix("x")
    f = th.function([x], s * x)
    assert _ops(f)[0] == "Elemwise{mul,no_inplace}"
    keep = s.get_value()
    f(_mat(3, 3))
    np.testing.assert_array_equal(s.get_value(), keep)


def test_a_constant_is_not_written_over():
    x = T.dmatrix("x")
    c = T.constant(np.full((2, 2), 3.0))
    f = th.function([x], c - x)
    assert not any("[(0," in op for op in _ops(f))
    a = _mat(2, 2)
    np.testing.assert_allclose(f(a), 3.0 - a)
    np.testing.assert_allclose(f(a), 3.0 - a)


def test_a_function_output_is_not_written_over():
    x, y = T.dmatrix("x"), T.dmatrix("y")
    d = T.dot(x, y)
    f = th.function([x, y], [d, d * 2])
    assert "Elemwise{mul,no_inplace}" in _ops(f)
    a, b = _mat(3, 4), _mat(4, 2)
    r = f(a, b)
    np.testing.assert_allclose(r[0], a @ b)
    np.testing.assert_allclose(r[1], 2 * (a @ b))


def test_a_view_of_an_input_is_not_written_over():
    x = T.dmatrix("x")
    f = th.function([x], T.exp(x.T))
    assert not any("[(0," in op for op in _ops(f))
    a = _mat(3, 4)
    keep = a.copy()
    np.testing.assert_allclose(f(a), np.exp(keep.T))
    np.testing.assert_array_equal(a, keep)


def test_a_view_of_an_intermediate_is_written_over_only_where_it_looks():
    x, y = T.dmatrix("x"), T.dmatrix("y")
    d = T.dot(x, y)
    f = th.function([x, y], [T.exp(d[1:]), T.exp(d.T)])
    a, b = _mat(4, 3), _mat(3, 5)
    r = f(a, b)
    np.testing.assert_allclose(r[0], np.exp((a @ b)[1:]))
    np.testing.assert_allclose(r[1], np.exp((a @ b).T))


def test_a_transposed_intermediate_is_written_over_in_its_own_layout():
    x, y, v = T.dmatrix("x"), T.dmatrix("y"), T.dvector("v")
    f = th.function([x, y, v], T.exp(T.dot(x, y).T) * v.dimshuffle(0, "x") - v.dimshuffle(0, "x"))
    a, b, c = _mat(3, 4), _mat(4, 5), _mat(5)
    before = _core.inplace_counts()
    r = f(a, b, c)
    after = _core.inplace_counts()
    np.testing.assert_allclose(r, np.exp((a @ b).T) * c[:, None] - c[:, None])
    assert (after[0] - before[0], after[1] - before[1]) == (1, 0)


def test_a_value_of_another_runtime_shape_falls_back_to_a_fresh_buffer():
    x, y, z = T.dmatrix("x"), T.dmatrix("y"), T.dmatrix("z")
    # the dot's column of length 1 is broadcast against z at run time
    f = th.function([x, y, z], T.dot(x, y) * z)
    assert "Elemwise{Mul}[(0, 0)]" in _ops(f)
    a, b, c = _mat(3, 2), _mat(2, 1), _mat(3, 4)
    before = _core.inplace_counts()
    np.testing.assert_allclose(f(a, b, c), (a @ b) * c)
    after = _core.inplace_counts()
    assert (after[0] - before[0], after[1] - before[1]) == (0, 1)


def test_set_subtensor_and_inc_subtensor_write_over_an_intermediate():
    x, y = T.dmatrix("x"), T.dmatrix("y")
    v = T.dvector("v")
    d = T.dot(x, y)
    f = th.function([x, y, v], T.set_subtensor(d[1:, 0], v[:2]))
    g = th.function([x, y, v], T.inc_subtensor(d[0], v))
    h = th.function([x, y, v], T.advanced_inc_subtensor1(d, T.outer(v[:3], v), [0, 2, 0]))
    k = th.function([x, y, v], T.advanced_set_subtensor1(d, T.outer(v[:3], v), [0, 2, 1]))
    assert "IncSubtensor{InplaceSet;int64::, int64}" in _ops(f)
    assert "IncSubtensor{InplaceInc;int64}" in _ops(g)
    assert "AdvancedIncSubtensor1{inplace,inc}" in _ops(h)
    assert "AdvancedIncSubtensor1{inplace,set}" in _ops(k)
    a, b, c = _mat(3, 4), _mat(4, 4), _mat(4)
    before = _core.inplace_counts()
    want = a @ b
    want_f = want.copy()
    want_f[1:, 0] = c[:2]
    np.testing.assert_allclose(f(a, b, c), want_f)
    want_g = want.copy()
    want_g[0] += c
    np.testing.assert_allclose(g(a, b, c), want_g)
    want_h = want.copy()
    np.add.at(want_h, [0, 2, 0], np.outer(c[:3], c))
    np.testing.assert_allclose(h(a, b, c), want_h)
    want_k = want.copy()
    want_k[[0, 2, 1]] = np.outer(c[:3], c)
    np.testing.assert_allclose(k(a, b, c), want_k)
    assert _core.inplace_counts()[0] - before[0] >= 4


def test_fast_compile_makes_no_inplace_nodes():
    x, y = T.dmatrix("x"), T.dmatrix("y")
    f = th.function([x, y], T.dot(x, y) + 1, mode="FAST_COMPILE")
    assert "Elemwise{add,no_inplace}" in _ops(f)


def test_a_mutable_input_may_be_written_over():
    x = T.dmatrix("x")
    f = th.function([In(x, mutable=True)], T.exp(x))
    assert _ops(f)[0] == "Elemwise{Exp}[(0, 0)]"
    a = _mat(2, 3)
    keep = a.copy()
    np.testing.assert_allclose(f(a), np.exp(keep))
    g = th.function([In(x, mutable=False)], T.exp(x))
    assert _ops(g)[0] == "Elemwise{exp,no_inplace}"


def test_an_update_writes_over_the_intermediate_it_consumes_not_the_shared_value():
    W = th.shared(_mat(3, 3), name="W")
    x = T.dmatrix("x")
    old = W.get_value()
    borrowed = W.get_value(borrow=True)
    f = th.function([x], [], updates=[(W, W - 0.1 * T.tanh(T.dot(x, x)))])
    assert any(re.fullmatch(r"Elemwise\{.*\}\[\(0, \d\)\]", op) for op in _ops(f))
    a = _mat(3, 3)
    f(a)
    np.testing.assert_allclose(W.get_value(), old - 0.1 * np.tanh(a @ a))
    # the old buffer is not written: a borrowed view keeps the old value
    np.testing.assert_array_equal(borrowed, old)


def test_a_failing_call_leaves_every_shared_value_unchanged():
    s = th.shared(_mat(3, 3), name="s")
    x, y, z = T.dmatrix("x"), T.dmatrix("y"), T.dmatrix("z")
    d = T.dot(x, y)
    f = th.function([x, y, z], T.dot(d, z), updates=[(s, s + d * 2)])
    keep = s.get_value()
    with pytest.raises(ValueError):
        f(_mat(3, 3), _mat(3, 3), _mat(4, 2))
    np.testing.assert_array_equal(s.get_value(), keep)
    a, b, c = _mat(3, 3), _mat(3, 3), _mat(3, 2)
    np.testing.assert_allclose(f(a, b, c), (a @ b) @ c)
    np.testing.assert_allclose(s.get_value(), keep + 2 * (a @ b))


def test_debugmode_accepts_the_declared_inplace_ops_and_checks_their_values():
    x, y, v = T.dmatrix("x"), T.dmatrix("y"), T.dvector("v")
    d = T.dot(x, y)
    f = th.function([x, y, v], [T.exp(d.T) + 1, T.inc_subtensor(T.dot(y.T, x.T)[0], v)], mode="DebugMode")
    assert any("[(0, " in op for op in _ops(f))
    assert "IncSubtensor{InplaceInc;int64}" in _ops(f)
    a, b, c = _mat(3, 2), _mat(2, 3), _mat(3)
    r = f(a, b, c)
    np.testing.assert_allclose(r[0], np.exp((a @ b).T) + 1)
    want = (a @ b).T.copy()
    want[0] += c
    np.testing.assert_allclose(r[1], want)


# --- an update written over its own shared variable -------------------------------------------


def _address(shared):
    return shared.get_value(borrow=True).__array_interface__["data"][0]


def _in_place_writes(f, *args):
    """How many inplace writes one call of `f` makes."""
    writes = _core.inplace_counts()[0]
    f(*args)
    return _core.inplace_counts()[0] - writes


def test_an_update_writes_over_its_shared_value_after_every_other_reader_ran():
    W = th.shared(_mat(3, 3), name="W")
    x = T.dmatrix("x")
    f = th.function([x], [W.sum(), T.dot(x, W)], updates=[(W, W * 0.5 + x)])
    # the update's node is scheduled last, writing over W
    last = f.maker.fgraph.toposort()[-1]
    assert last == "Elemwise{Composite{((i0 * i1) + i2)}}[(0, 1)](TensorConstant{(1, 1) of 0.5}, W, x)"
    old, a = W.get_value(), _mat(3, 3)
    address = _address(W)
    total, product = f(a)
    np.testing.assert_allclose(total, old.sum())
    np.testing.assert_allclose(product, a @ old)
    np.testing.assert_allclose(W.get_value(), old * 0.5 + a)
    assert _address(W) == address
    assert _in_place_writes(f, a) == 1
    np.testing.assert_allclose(W.get_value(), (old * 0.5 + a) * 0.5 + a)


def test_a_call_that_fails_leaves_a_value_updated_in_place_unchanged():
    W = th.shared(_mat(3, 3), name="W")
    x = T.dmatrix("x")
    f = th.function([x], T.dot(W, x), updates=[(W, W * 0.5)])
    assert f.maker.fgraph.toposort()[-1] == "Elemwise{Mul}[(0, 1)](TensorConstant{(1, 1) of 0.5}, W)"
    keep = W.get_value()
    with pytest.raises(ValueError):
        f(_mat(4, 2))
    np.testing.assert_array_equal(W.get_value(), keep)
    f(_mat(3, 2))
    np.testing.assert_allclose(W.get_value(), keep * 0.5)


def test_a_shared_value_also_returned_is_copied_before_its_update_writes_over_it():
    W = th.shared(_mat(3, 3), name="W")
    f = th.function([], W, updates=[(W, W * 2)])
    keep = W.get_value()
    address = _address(W)
    out = f()
    np.testing.assert_array_equal(out, keep)
    assert _address(W) == address
    assert _in_place_writes(f) == 1
    np.testing.assert_array_equal(out, keep)
    np.testing.assert_allclose(W.get_value(), keep * 4)


def test_of_several_updates_only_the_largest_value_is_written_over():
    small = th.shared(_mat(2), name="small")
    large = th.shared(_mat(40, 30), name="large")
    x = T.dscalar("x")
    f = th.function([x], [], updates=[(small, small * x), (large, large * x)])
    inplace = [n for n in f.maker.fgraph.toposort() if "}[(0, " in n]
    assert inplace == ["Elemwise{Mul}[(0, 0)](large, InplaceDimShuffle{x,x}.0)"]
    s0, l0 = small.get_value(), large.get_value()
    assert _in_place_writes(f, 3.0) == 1
    np.testing.assert_allclose(small.get_value(), s0 * 3)
    np.testing.assert_allclose(large.get_value(), l0 * 3)


@pytest.mark.parametrize("allow_gc", [True, False])
def test_another_function_reads_the_value_an_update_wrote_in_place(allow_gc):
    W = th.shared(_mat(3, 3), name="W")
    x = T.dmatrix("x")
    with th.change_flags(allow_gc=allow_gc):
        step = th.function([x], [], updates=[(W, W - 0.1 * T.dot(x.T, x))])
        read = th.function([], W * 1)
    assert _ops(step)[0] == "Gemm{inplace}"
    want, a = W.get_value(), _mat(3, 3)
    for _ in range(3):
        assert _in_place_writes(step, a) == 1
        want = want - 0.1 * a.T @ a
        np.testing.assert_allclose(read(), want)


def test_debugmode_checks_an_update_written_over_its_shared_value():
    W = th.shared(_mat(3, 3), name="W")
    x = T.dmatrix("x")
    f = th.function([x], [], updates=[(W, W - 0.1 * T.dot(x.T, x))], mode="DebugMode")
    assert "Gemm{inplace}" in _ops(f)
    old, a = W.get_value(), _mat(3, 3)
    f(a)
    np.testing.assert_allclose(W.get_value(), old - 0.1 * a.T @ a)


# --- print_destroy_map / print_view_map ------------------------------------------------------


def test_print_destroy_map_and_view_map_show_theano_fields():
    x, y = T.dmatrix("x"), T.dmatrix("y")
    f = th.function([x, y], T.dot(x, y).T + 1)
    lines = _text(f, print_destroy_map=True, print_view_map=True).splitlines()
    assert lines[0] == "Elemwise{Add}[(0, 1)] [id A] '' d={0: [1]}  2"
    assert lines[2] == " |InplaceDimShuffle{1,0} [id C] ''  v={0: [0]} 1"
    assert lines[3] == "   |Dot22 [id D] ''   0"
    plain = _text(f).splitlines()
    assert plain[0] == "Elemwise{Add}[(0, 1)] [id A] ''   2"
    only_d = _text(f, print_destroy_map=True).splitlines()
    assert only_d[2] == " |InplaceDimShuffle{1,0} [id C] ''   1"


# --- randomized graphs: FAST_RUN (inplace) equals FAST_COMPILE ---------------------------------


class _Graph:
    """A random graph over matrices (3, 4), vectors (4,) and scalars, with
    inputs reused in several places."""

    def __init__(self, rng):
        self.rng = rng
        self.x = T.dmatrix("x")
        self.y = T.dmatrix("y")
        self.v = T.dvector("v")
        self.s = th.shared(np.zeros((3, 4)), name="s")
        self.t = th.shared(np.zeros(4), name="t")
        self.pool = {"m": [self.x, self.y, self.s], "v": [self.v, self.t]}

    def pick(self, kind):
        p = self.pool[kind]
        return p[self.rng.randint(len(p))]

    def grow(self):
        r = self.rng.randint(16)
        m, m2, v = self.pick("m"), self.pick("m"), self.pick("v")
        if r == 0:
            return "m", T.exp(m * 0.1)
        if r == 1:
            return "m", T.tanh(m) * m2
        if r == 2:
            return "m", m + v
        if r == 3:
            return "m", m - m2 * 2
        if r == 4:
            return "m", T.maximum(m, m2).T.T
        if r == 5:
            return "m", T.set_subtensor(m[1:, ::2], m2[:2, 1::2])
        if r == 6:
            return "m", T.inc_subtensor(m[:, 1], v[:3])
        if r == 7:
            return "m", (m.T * 3).T
        if r == 8:
            return "m", T.sqr(T.dot(m, m2.T)[:, :1] + m)
        if r == 9:
            return "v", m.sum(axis=0)
        if r == 10:
            return "v", m.max(axis=0) - v
        if r == 11:
            return "v", m[1] * v
        if r == 12:
            return "v", T.advanced_inc_subtensor1(v, v[:2], [0, 2])
        if r == 13:
            return "m", v.dimshuffle("x", 0) * m + m
        if r == 14:
            return "m", T.abs_(-m)
        return "v", T.exp(v[::-1])

    def build(self, n):
        for _ in range(n):
            kind, e = self.grow()
            self.pool[kind].append(e)
        outs = []
        for _ in range(1 + self.rng.randint(3)):
            kind = "m" if self.rng.rand() < 0.6 else "v"
            outs.append(self.pick(kind))
        updates = []
        if self.rng.rand() < 0.7:
            updates.append((self.s, self.pick("m")))
        if self.rng.rand() < 0.5:
            updates.append((self.t, self.pick("v")))
        return outs, updates


def _run(graph, outs, updates, mode, values, s0, t0):
    graph.s.set_value(s0)
    graph.t.set_value(t0)
    f = th.function([graph.x, graph.y, graph.v], outs, updates=updates, mode=mode,
                    on_unused_input="ignore")
    results = []
    for args in values:
        results.append([np.array(r) for r in f(*args)])
    return f, results, graph.s.get_value(), graph.t.get_value()


@pytest.mark.parametrize("seed", range(40))
def test_random_graphs_compute_in_fast_run_what_fast_compile_computes(seed):
    rng = np.random.RandomState(seed)
    graph = _Graph(rng)
    outs, updates = graph.build(3 + rng.randint(8))
    s0, t0 = rng.rand(3, 4), rng.rand(4)
    values = [(rng.rand(3, 4), rng.rand(3, 4), rng.rand(4)) for _ in range(2)]
    kept = [tuple(a.copy() for a in args) for args in values]
    _, want, ws, wt = _run(graph, outs, updates, "FAST_COMPILE", values, s0, t0)
    for allow_gc in (True, False):
        old = th.config.allow_gc
        th.config.allow_gc = allow_gc
        try:
            _, got, gs, gt = _run(graph, outs, updates, "FAST_RUN", values, s0, t0)
        finally:
            th.config.allow_gc = old
        for call_got, call_want in zip(got, want):
            for a, b in zip(call_got, call_want):
                np.testing.assert_allclose(a, b, rtol=1e-12, atol=1e-12)
        np.testing.assert_allclose(gs, ws, rtol=1e-12, atol=1e-12)
        np.testing.assert_allclose(gt, wt, rtol=1e-12, atol=1e-12)
        for args, orig in zip(values, kept):
            for a, b in zip(args, orig):
                np.testing.assert_array_equal(a, b)


def test_random_graphs_make_inplace_nodes_somewhere():
    found = 0
    for seed in range(40):
        rng = np.random.RandomState(seed)
        graph = _Graph(rng)
        outs, updates = graph.build(3 + rng.randint(8))
        f = th.function([graph.x, graph.y, graph.v], outs, updates=updates, on_unused_input="ignore")
        found += any("Inplace" in op or "inplace," in op or "[(0," in op for op in _ops(f))
    assert found >= 10
