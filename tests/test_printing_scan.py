"""debugprint of scans (SPEC §7.1, §7.4): Theano's op names (`for{cpu,scan_fn}`,
`forall_inplace,cpu,scan_fn}` once compiled, `do_while` loops), the
"Inner graphs of the scan ops" section with inner inputs pointing at the
outer inputs they stand for, and what the scan rewrites leave in the loop."""
import numpy as np

import rtensor as th

T = th.tensor


def _lines(text):
    return text.split("\n")


def test_the_pushout_example_of_the_spec_leaves_only_the_add_in_the_loop():
    v = T.dvector("v")
    W = th.shared(np.ones(3), name="W")
    out, _ = th.scan(lambda a, acc: acc + a * W.sum(), sequences=v, outputs_info=T.constant(np.float64(0)))
    f = th.function([v], out)
    assert th.debugprint(f, file="str") == "\n".join([
        "forall_inplace,cpu,scan_fn} [id A] ''   3",
        " |Elemwise{mul,no_inplace} [id B] ''   2",
        " | |v [id C]",
        " | |InplaceDimShuffle{x} [id D] ''   1",
        " |   |Sum{acc_dtype=float64} [id E] ''   0",
        " |     |W [id F]",
        " |TensorConstant{0.0} [id G]",
        "",
        "Inner graphs of the scan ops:",
        "",
        "forall_inplace,cpu,scan_fn} [id A] ''   ",
        " >Elemwise{add,no_inplace} [id H] ''   ",
        " > |<TensorType(float64, scalar)> [id I] -> [id G]",
        " > |<TensorType(float64, scalar)> [id J] -> [id B]",
        "",
    ])
    np.testing.assert_allclose(f(np.array([1.0, 2.0, 3.0])), [3.0, 9.0, 18.0])


def test_before_compiling_the_inner_graph_shows_the_step_names_and_w_copy():
    v = T.dvector("v")
    W = th.shared(np.ones(3), name="W")
    out, _ = th.scan(lambda a, acc: acc + a * W.sum(), sequences=v, outputs_info=T.constant(np.float64(0)))
    assert th.debugprint(out, file="str") == "\n".join([
        "for{cpu,scan_fn} [id A] ''   ",
        " |v [id B]",
        " |TensorConstant{0.0} [id C]",
        " |W [id D]",
        "",
        "Inner graphs of the scan ops:",
        "",
        "for{cpu,scan_fn} [id A] ''   ",
        " >Elemwise{add,no_inplace} [id E] ''   ",
        " > |<TensorType(float64, scalar)> [id F] -> [id C]",
        " > |Elemwise{mul,no_inplace} [id G] ''   ",
        " >   |v[t] [id H] -> [id B]",
        " >   |Sum{acc_dtype=float64} [id I] ''   ",
        " >     |W_copy [id J] -> [id D]",
        "",
    ])


def test_a_non_sequence_prints_as_its_copy_and_a_scan_inside_an_expression():
    A = T.dvector("A")
    k = T.iscalar("k")
    result, _ = th.scan(lambda prior, A: prior * A, outputs_info=A * 0 + 1, non_sequences=A, n_steps=k)
    text = th.debugprint(result[-1], file="str")
    assert _lines(text)[:3] == ["Subtensor{int64} [id A] ''   ", " |for{cpu,scan_fn} [id B] ''   ", " | |k [id C]"]
    assert text.endswith("\n".join([
        "Inner graphs of the scan ops:",
        "",
        "for{cpu,scan_fn} [id B] ''   ",
        " >Elemwise{mul,no_inplace} [id L] ''   ",
        " > |<TensorType(float64, vector)> [id M] -> [id D]",
        " > |A_copy [id N] -> [id F]",
        "",
    ]))


def test_each_output_of_a_multi_output_scan_gets_its_own_section():
    x = T.dvector("x")
    (a, b), _ = th.scan(lambda v: [v * 2, v + 1], sequences=x)
    assert th.debugprint(a + b, file="str") == "\n".join([
        "Elemwise{add,no_inplace} [id A] ''   ",
        " |for{cpu,scan_fn}.0 [id B] ''   ",
        " | |x [id C]",
        " |for{cpu,scan_fn}.1 [id B] ''   ",
        "",
        "Inner graphs of the scan ops:",
        "",
        "for{cpu,scan_fn}.0 [id B] ''   ",
        " >Elemwise{mul,no_inplace} [id D] ''   ",
        " > |x[t] [id E] -> [id C]",
        " > |TensorConstant{2} [id F]",
        " >Elemwise{add,no_inplace} [id G] ''   ",
        " > |x[t] [id E] -> [id C]",
        " > |TensorConstant{1} [id H]",
        "",
        "for{cpu,scan_fn}.1 [id B] ''   ",
        " >Elemwise{mul,no_inplace} [id D] ''   ",
        " >Elemwise{add,no_inplace} [id G] ''   ",
        "",
    ])


def test_a_nested_scan_prints_after_its_parent_pointing_at_the_parents_inner_inputs():
    m = T.dmatrix("m")

    def row_cumsum(row):
        sums, _ = th.scan(lambda v, acc: acc + v, sequences=row, outputs_info=T.constant(np.float64(0)))
        return sums

    out, _ = th.scan(row_cumsum, sequences=m)
    f = th.function([m], out)
    assert th.debugprint(f, file="str") == "\n".join([
        "for{cpu,scan_fn} [id A] ''   0",
        " |m [id B]",
        "",
        "Inner graphs of the scan ops:",
        "",
        "for{cpu,scan_fn} [id A] ''   ",
        " >forall_inplace,cpu,scan_fn} [id C] ''   ",
        " > |m[t] [id D] -> [id B]",
        " > |TensorConstant{0.0} [id E]",
        "",
        "forall_inplace,cpu,scan_fn} [id C] ''   ",
        " >Elemwise{add,no_inplace} [id F] ''   ",
        " > |<TensorType(float64, scalar)> [id G] -> [id E]",
        " > |m[t][t] [id H] -> [id D]",
        "",
    ])


def test_a_while_loop_is_do_while_and_its_condition_is_an_inner_output():
    x0 = T.dscalar("x0")
    w, _ = th.scan(lambda p: (p * 2, th.scan_module.until(p > 10)), outputs_info=x0, n_steps=10, name="doubling")
    text = th.debugprint(w, file="str")
    assert text.startswith("do_while{cpu,doubling} [id A] ''   \n |TensorConstant{10} [id B]\n |x0 [id C]\n")
    assert " >Elemwise{gt,no_inplace} [id G] ''   \n > |x0[t-1] [id E] -> [id C]\n" in text
    compiled = th.debugprint(th.function([x0], w), file="str")
    assert compiled.startswith("do_whileall_inplace,cpu,doubling} [id A] ''   0\n")


def test_an_unused_output_is_removed_from_the_compiled_loop():
    x = T.dvector("x")
    h0 = T.dscalar("h0")
    (h, doubled), _ = th.scan(lambda v, h: (h + T.exp(v), h * 2), sequences=x, outputs_info=[h0, None])
    f = th.function([x, h0], h)
    text = th.debugprint(f, file="str")
    inner = text.split("Inner graphs of the scan ops:")[1]
    assert "Elemwise{mul" not in inner
    assert ".1 [id" not in text
    np.testing.assert_allclose(f(np.zeros(3), 0.0), [1.0, 2.0, 3.0])


def test_implicit_and_explicit_shared_variables_compile_to_the_same_printed_loop():
    # SPEC §4.8 / seed 3: the Gibbs sampler written both ways; a counter with
    # a default update stands in for the random stream.
    rng = np.random.RandomState(3)
    W = th.shared(rng.uniform(size=(5, 3)), name="W")
    bvis = th.shared(np.zeros(5), name="bvis")
    bhid = th.shared(np.zeros(3), name="bhid")
    noise = th.shared(np.float64(0.5), name="noise")
    noise.default_update = noise * 0.9 + 0.01

    def binomial(p):
        return T.switch(T.gt(p, noise), np.float64(1.0), np.float64(0.0))

    def one_step(vsample):
        hmean = T.nnet.sigmoid(T.dot(vsample, W) + bhid)
        hsample = binomial(hmean)
        vmean = T.nnet.sigmoid(T.dot(hsample, W.T) + bvis)
        return binomial(vmean)

    def one_step_explicit(vsample, W, bvis, bhid):
        hmean = T.nnet.sigmoid(T.dot(vsample, W) + bhid)
        hsample = binomial(hmean)
        vmean = T.nnet.sigmoid(T.dot(hsample, W.T) + bvis)
        return binomial(vmean)

    sample = T.dvector("sample")
    v1, u1 = th.scan(one_step, outputs_info=sample, n_steps=10)
    v2, u2 = th.scan(one_step_explicit, outputs_info=sample, non_sequences=[W, bvis, bhid], n_steps=10)
    assert th.debugprint(v1, file="str") == th.debugprint(v2, file="str")
    f1 = th.function([sample], v1[-1], updates=u1)
    f2 = th.function([sample], v2[-1], updates=u2)
    text = th.debugprint(f1, file="str")
    assert text == th.debugprint(f2, file="str")
    assert "bvis_copy [id" in text and "noise_copy [id" in text
    # W.T is computed once, before the loop.
    assert text.split("Inner graphs")[0].count("InplaceDimShuffle{1,0}") == 1
    start = noise.get_value()
    r1 = f1(np.ones(5))
    after = noise.get_value()
    noise.set_value(start)
    r2 = f2(np.ones(5))
    np.testing.assert_array_equal(r1, r2)
    assert noise.get_value() == after != start


def test_the_tree_style_names_the_section_inner_graphs():
    x = T.dvector("x")
    out, _ = th.scan(lambda v: v * 2, sequences=x)
    assert th.debugprint(out, file="str", style="tree") == "\n".join([
        "for{cpu,scan_fn} [id A]",
        " └─ x [id B]",
        "",
        "Inner graphs:",
        "",
        "for{cpu,scan_fn} [id A]",
        " ← Elemwise{mul,no_inplace} [id C]",
        "    ├─ x[t] [id D] -> [id B]",
        "    └─ TensorConstant{2} [id E]",
        "",
    ])


def test_the_input_product_of_a_recurrent_layer_moves_before_the_loop(rng):
    # dot(x_t, U) (and dot(V, x_t)) of each row becomes one product of the
    # whole sequence before the loop; only the recurrent product stays in.
    x = T.dmatrix("x")
    h0 = T.dvector("h0")
    U = th.shared(rng.normal(size=(3, 4)), name="U")
    V = th.shared(rng.normal(size=(4, 3)), name="V")
    W = th.shared(rng.normal(size=(4, 4)) * 0.3, name="W")

    def step(x_t, h):
        return T.tanh(T.dot(x_t, U) + T.dot(V, x_t) + T.dot(h, W))

    out, _ = th.scan(step, sequences=x, outputs_info=h0)
    f = th.function([x, h0], out)
    text = th.debugprint(f, file="str")
    outer, inner = text.split("Inner graphs of the scan ops:")
    assert "Dot22 [id" in outer
    assert inner.count("dot") + inner.count("Dot22") + inner.count("Gemv") == 1, inner
    slow = th.function([x, h0], out, mode="FAST_COMPILE")
    xv, hv = rng.normal(size=(6, 3)), rng.normal(size=4)
    np.testing.assert_allclose(f(xv, hv), slow(xv, hv), rtol=1e-12)
    h, expected = hv, []
    for row in xv:
        h = np.tanh(row @ U.get_value() + V.get_value() @ row + h @ W.get_value())
        expected.append(h)
    np.testing.assert_allclose(f(xv, hv), expected, rtol=1e-12)
