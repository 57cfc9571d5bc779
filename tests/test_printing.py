"""SPEC 7: debugprint grammar (7.1-7.3), pp (7.6) and the tree style (7.5)."""
import io
import re

import numpy as np
import pytest

import rtensor as th

T = th.tensor
debugprint = th.printing.debugprint


def _linear():
    x = T.dmatrix("x")
    W = th.shared(np.ones((3, 2)), name="W")
    b = th.shared(np.zeros(2), name="b")
    return x, W, b, T.dot(x, W) + b


LINEAR_TEXT = (
    "Elemwise{add,no_inplace} [id A] ''   \n"
    " |dot [id B] ''   \n"
    " | |x [id C]\n"
    " | |W [id D]\n"
    " |InplaceDimShuffle{x,0} [id E] ''   \n"
    "   |b [id F]\n"
)


def _id_from_number(n):
    # SPEC 7.1: base 26, A = 0, so the 27th id is BA
    if n == 0:
        return "A"
    out = ""
    while n:
        out = chr(ord("A") + n % 26) + out
        n //= 26
    return out


# ---------------------------------------------------------------------------
# 7.1 / 7.2 variables
# ---------------------------------------------------------------------------

def test_debugprint_of_linear_expression_matches_the_spec_tree():
    _, _, _, e = _linear()
    assert debugprint(e, file="str") == LINEAR_TEXT


def test_debugprint_of_sigmoid_example_matches_section_7_2():
    nnet = getattr(T, "nnet", None)
    if nnet is None or not hasattr(nnet, "sigmoid"):
        pytest.skip("T.nnet.sigmoid is not part of this milestone yet")
    x, W, b, e = _linear()
    h = nnet.sigmoid(e)
    h.name = "h"
    expected = (
        "sigmoid [id A] 'h'   \n"
        " |Elemwise{add,no_inplace} [id B] ''   \n"
        "   |dot [id C] ''   \n"
        "   | |x [id D]\n"
        "   | |W [id E]\n"
        "   |InplaceDimShuffle{x,0} [id F] ''   \n"
        "     |b [id G]\n"
    )
    assert debugprint(h, file="str") == expected
    no_ids = debugprint(h, file="str", ids="")
    assert no_ids.splitlines()[0] == "sigmoid  'h'   "


def test_debugprint_shows_a_variable_name_in_quotes():
    x, W, b, _ = _linear()
    e = T.dot(x, W) + b
    e.name = "pre"
    assert debugprint(e, file="str").splitlines()[0] == "Elemwise{add,no_inplace} [id A] 'pre'   "


def test_debugprint_of_a_leaf_prints_only_its_name_and_id():
    x = T.dmatrix("x")
    assert debugprint(x, file="str") == "x [id A]\n"
    u = T.fvector()
    assert debugprint(u, file="str") == "<TensorType(float32, vector)> [id A]\n"
    s = th.shared(np.zeros(2))
    assert debugprint(s, file="str") == "<TensorType(float64, vector)> [id A]\n"


def test_debugprint_scalar_expression_with_constant():
    x = T.dscalar("x")
    y = T.dscalar("y")
    e = (x + y) * 2
    expected = (
        "Elemwise{mul,no_inplace} [id A] ''   \n"
        " |Elemwise{add,no_inplace} [id B] ''   \n"
        " | |x [id C]\n"
        " | |y [id D]\n"
        " |TensorConstant{2} [id E]\n"
    )
    assert debugprint(e, file="str") == expected


def test_debugprint_ids_go_past_Z_to_BA():
    n = 13
    vs = [T.dscalar("v%d" % i) for i in range(n + 1)]
    e = vs[0]
    for v in vs[1:]:
        e = e + v
    text = debugprint(e, file="str")
    lines = text.splitlines()
    assert len(lines) == 2 * n + 1
    ids = [re.search(r"\[id (\w+)\]", line).group(1) for line in lines]
    assert ids == [_id_from_number(i) for i in range(2 * n + 1)]
    assert ids[26] == "BA"
    assert lines[-1] == " |v13 [id BA]"
    assert lines[0] == "Elemwise{add,no_inplace} [id A] ''   "
    # the innermost add holds v0 and v1; its prefix grows by " |" per level
    assert lines[n - 1] == " |" * (n - 1) + "Elemwise{add,no_inplace} [id %s] ''   " % _id_from_number(n - 1)
    assert lines[n] == " |" * n + "v0 [id %s]" % _id_from_number(n)


def test_debugprint_integer_ids():
    _, _, _, e = _linear()
    expected = re.sub(r"\[id ([A-F])\]", lambda m: "[id %d]" % (ord(m.group(1)) - ord("A")), LINEAR_TEXT)
    assert debugprint(e, file="str", ids="int") == expected


def test_debugprint_empty_ids_keep_the_spaces():
    _, _, _, e = _linear()
    expected = (
        "Elemwise{add,no_inplace}  ''   \n"
        " |dot  ''   \n"
        " | |x \n"
        " | |W \n"
        " |InplaceDimShuffle{x,0}  ''   \n"
        "   |b \n"
    )
    assert debugprint(e, file="str", ids="") == expected


def test_debugprint_print_type_appends_the_type():
    x = T.dscalar("x")
    y = T.fscalar("y")
    e = x + y
    expected = (
        "Elemwise{add,no_inplace} [id A] <TensorType(float64, scalar)> ''   \n"
        " |x [id B] <TensorType(float64, scalar)>\n"
        " |y [id C] <TensorType(float32, scalar)>\n"
    )
    assert debugprint(e, file="str", print_type=True) == expected


def test_debugprint_depth_limits_levels():
    _, _, _, e = _linear()
    full = LINEAR_TEXT.splitlines()
    assert debugprint(e, file="str", depth=1).splitlines() == full[:1]
    assert debugprint(e, file="str", depth=2).splitlines() == [
        full[0],
        full[1],
        " |InplaceDimShuffle{x,0} [id C] ''   ",
    ]
    assert debugprint(e, file="str", depth=3) == LINEAR_TEXT
    assert debugprint(e, file="str", depth=-1) == LINEAR_TEXT


def test_debugprint_stop_on_name_does_not_expand_named_nodes():
    x, W, b, _ = _linear()
    d = T.dot(x, W)
    d.name = "d"
    e = d + b
    expected = (
        "Elemwise{add,no_inplace} [id A] ''   \n"
        " |dot [id B] 'd'   \n"
        " |InplaceDimShuffle{x,0} [id C] ''   \n"
        "   |b [id D]\n"
    )
    assert debugprint(e, file="str", stop_on_name=True) == expected
    assert debugprint(e, file="str").count("\n") == 6


def test_debugprint_file_none_prints_to_stdout_and_returns_none(capsys):
    _, _, _, e = _linear()
    result = debugprint(e)
    assert result is None
    assert capsys.readouterr().out == LINEAR_TEXT


def test_debugprint_to_a_file_object_writes_and_returns_it():
    _, _, _, e = _linear()
    buf = io.StringIO()
    result = debugprint(e, file=buf)
    assert result is buf
    assert buf.getvalue() == LINEAR_TEXT


def test_debugprint_multiple_roots_share_ids_and_do_not_repeat_children():
    x = T.dscalar("x")
    y = T.dscalar("y")
    e1 = x + y
    e2 = e1 * 2
    expected = (
        "Elemwise{add,no_inplace} [id A] ''   \n"
        " |x [id B]\n"
        " |y [id C]\n"
        "Elemwise{mul,no_inplace} [id D] ''   \n"
        " |Elemwise{add,no_inplace} [id A] ''   \n"
        " |TensorConstant{2} [id E]\n"
    )
    assert debugprint([e1, e2], file="str") == expected


def test_debugprint_repeated_subexpression_is_expanded_once():
    x = T.dscalar("x")
    s = x * 3
    e = s + s
    expected = (
        "Elemwise{add,no_inplace} [id A] ''   \n"
        " |Elemwise{mul,no_inplace} [id B] ''   \n"
        " | |x [id C]\n"
        " | |TensorConstant{3} [id D]\n"
        " |Elemwise{mul,no_inplace} [id B] ''   \n"
    )
    assert debugprint(e, file="str") == expected


def test_constants_print_their_value():
    assert str(T.constant(5)) == "TensorConstant{5}"
    assert str(T.constant(np.array([1, 2]))) == "TensorConstant{[1 2]}"
    assert str(T.constant(np.array([2.0]))) == "TensorConstant{(1,) of 2.0}"


# ---------------------------------------------------------------------------
# 7.1 / 7.3 compiled functions
# ---------------------------------------------------------------------------

SEED_TREE = [
    ("DeepCopyOp [id A] ''   ", True),
    (" |Subtensor{int32:int32:} [id B] ''   ", True),
    ("   |X [id C]", False),
    ("   |ScalarFromTensor [id D] ''   ", True),
    ("   | |index [id E]", False),
    ("   |ScalarFromTensor [id F] ''   ", True),
    ("     |Elemwise{add,no_inplace} [id G] ''   ", True),
    ("       |TensorConstant{5} [id H]", False),
    ("       |index [id E]", False),
]


@pytest.mark.parametrize("use_givens", [True, False])
def test_compiled_seed_graph_prints_with_toposort_positions(use_givens):
    X = th.shared(np.arange(100), borrow=True, name="X")
    index = T.scalar(dtype="int32", name="index")
    if use_givens:
        f = th.function([index], X, givens={X: X[index:index + 5]})
    else:
        f = th.function([index], X[index:index + 5])
    lines = debugprint(f, file="str").splitlines()
    assert len(lines) == len(SEED_TREE)
    positions = []
    for line, (head, is_op) in zip(lines, SEED_TREE):
        if is_op:
            m = re.fullmatch(re.escape(head) + r"(\d+)", line)
            assert m, line
            positions.append(int(m.group(1)))
        else:
            assert line == head
    assert sorted(positions) == list(range(5))
    assert positions[0] == 4  # the output copy runs last


def test_compiled_function_prints_outputs_then_update_values():
    s = th.shared(np.zeros(3), name="s")
    x = T.dvector("x")
    f = th.function([x], x * 3, updates=[(s, s - x)], mode="FAST_COMPILE")
    text = debugprint(f, file="str")
    lines = text.splitlines()
    roots = [line for line in lines if not line.startswith(" ")]
    assert len(roots) == 2
    assert "mul" in roots[0].lower()
    assert "sub" in roots[1].lower()
    for r in roots:
        assert re.search(r"'[^']*'   \d+$", r), r
    x_ids = {re.search(r"x \[id (\w+)\]", line).group(1) for line in lines if re.search(r"\|x \[id", line)}
    assert len(x_ids) == 1
    assert sum(1 for line in lines if re.search(r"\|x \[id", line)) == 2


# ---------------------------------------------------------------------------
# 7.5 tree style
# ---------------------------------------------------------------------------

def test_debugprint_tree_style_uses_box_drawing_connectors():
    x = T.dscalar("x")
    y = T.dscalar("y")
    z = T.dscalar("z")
    e = (x + y) * z
    lines = debugprint(e, file="str", style="tree").splitlines()
    assert len(lines) == 5
    assert "[id A]" in lines[0] and "''" not in lines[0]
    assert lines[1].startswith(" ├─ ") and "[id B]" in lines[1] and "''" not in lines[1]
    assert lines[2] == " │  ├─ x [id C]"
    assert lines[3] == " │  └─ y [id D]"
    assert lines[4] == " └─ z [id E]"
    # the default style is unchanged
    assert debugprint(e, file="str").splitlines()[2] == " | |x [id C]"


# ---------------------------------------------------------------------------
# 7.6 pp
# ---------------------------------------------------------------------------

def test_pp_of_affine_expression_is_one_infix_string():
    x = T.dmatrix("x")
    W = T.dmatrix("W")
    assert th.printing.pp(x + 2 * T.dot(x, W)) == "(x + (TensorConstant{2} * (x \\dot W)))"


def test_pp_with_a_shared_weight_matrix():
    x = T.dmatrix("x")
    W = th.shared(np.ones((2, 2)), name="W")
    assert th.printing.pp(x + 2 * T.dot(x, W)) == "(x + (TensorConstant{2} * (x \\dot W)))"


@pytest.mark.parametrize("build,text", [
    (lambda x, y, z: x + y, "(x + y)"),
    (lambda x, y, z: x - y, "(x - y)"),
    (lambda x, y, z: x * y, "(x * y)"),
    (lambda x, y, z: x / y, "(x / y)"),
    (lambda x, y, z: x * y + z, "((x * y) + z)"),
    (lambda x, y, z: x - (y - z), "(x - (y - z))"),
])
def test_pp_parenthesizes_every_binary_operation(build, text):
    x = T.dscalar("x")
    y = T.dscalar("y")
    z = T.dscalar("z")
    assert th.printing.pp(build(x, y, z)) == text


def test_a_compiled_node_names_an_unnamed_input_by_its_op_and_output_index():
    # Theano's str(apply): inputs print as str(var), which for an unnamed
    # result is its op and output index, never the whole graph below it.
    x = T.dvector("x")
    f = th.function([x], T.dot(T.tanh(x), x), mode="FAST_COMPILE")
    assert [str(n) for n in f.maker.fgraph.toposort()] == [
        "Elemwise{tanh,no_inplace}(x)",
        "dot(Elemwise{tanh,no_inplace}.0, x)",
    ]


def test_a_run_time_error_names_the_failing_node_as_theano_does():
    a, b = T.dmatrix("a"), T.dmatrix("b")
    f = th.function([a, b], T.dot(T.tanh(a), b))
    with pytest.raises(ValueError) as err:
        f(np.ones((2, 3)), np.ones((4, 5)))
    assert "Apply node that caused the error: Dot22(Elemwise{tanh,no_inplace}.0, b)\n" in str(
        err.value
    )
