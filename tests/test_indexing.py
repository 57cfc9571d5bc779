"""Indexing ops against NumPy: integer-array gathers (`AdvancedSubtensor1`),
NumPy advanced indexing with paired arrays, slices and boolean masks
(`AdvancedSubtensor`), and `set_subtensor`/`inc_subtensor` on basic and
advanced indices (`IncSubtensor`, `AdvancedIncSubtensor1`,
`AdvancedIncSubtensor`): repeated and negative indices, broadcasting of the
value, dtypes, the names debugprint shows, and the errors."""
import io

import numpy as np
import pytest

import rtensor as th

T = th.tensor


def _rand(rng, *shape, dtype="float64"):
    if np.dtype(dtype).kind in "iu":
        return rng.randint(-9, 10, size=shape).astype(dtype)
    return rng.uniform(-5, 5, size=shape).astype(dtype)


def _var(dtype, ndim, name="x"):
    return T.TensorType(dtype, (False,) * ndim)(name)


def _debugprint(v):
    buf = io.StringIO()
    th.debugprint(v, file=buf)
    return buf.getvalue()


# ---------------------------------------------------------------------------
# gathers
# ---------------------------------------------------------------------------


@pytest.mark.parametrize("dtype", ["float64", "float32", "int32", "int8", "bool"])
@pytest.mark.parametrize("index", [[0, 2, 2, 1], [-1, 0, -3], [3], []])
def test_indexing_rows_with_a_list_matches_numpy(dtype, index, rng):
    x = _var(dtype, 2)
    xv = _rand(rng, 4, 3, dtype="int8").astype(dtype) if dtype == "bool" else _rand(rng, 4, 3, dtype=dtype)
    out = th.function([x], x[index])(xv)
    expected = xv[np.asarray(index, dtype="int64")]
    assert out.dtype == xv.dtype and out.shape == expected.shape
    np.testing.assert_array_equal(out, expected)


@pytest.mark.parametrize("idx_dtype", ["int64", "int32", "int8", "uint8"])
def test_indexing_with_a_symbolic_integer_vector_uses_advanced_subtensor1(idx_dtype, rng):
    x = T.matrix("x")
    i = _var(idx_dtype, 1, "i")
    y = x[i]
    assert "AdvancedSubtensor1" in _debugprint(y)
    xv = _rand(rng, 5, 2)
    iv = np.array([4, 0, 0, 3], dtype=idx_dtype)
    np.testing.assert_array_equal(th.function([x, i], y)(xv, iv), xv[iv])


def test_a_gather_on_a_vector_and_on_a_3d_tensor(rng):
    v = T.vector("v")
    t = T.tensor3("t")
    vv, tv = _rand(rng, 6), _rand(rng, 4, 2, 3)
    f = th.function([v, t], [v[np.array([5, -6, 2])], t[[1, 1, -1]]])
    a, b = f(vv, tv)
    np.testing.assert_array_equal(a, vv[[5, -6, 2]])
    np.testing.assert_array_equal(b, tv[[1, 1, -1]])


def test_a_gather_along_a_later_axis_matches_numpy(rng):
    x = T.tensor3("x")
    xv = _rand(rng, 2, 4, 3)
    f = th.function([x], [x[:, [3, 0, 3]], x[:, :, [-1, 1]]])
    a, b = f(xv)
    np.testing.assert_array_equal(a, xv[:, [3, 0, 3]])
    np.testing.assert_array_equal(b, xv[:, :, [-1, 1]])


def test_an_index_matrix_gathers_embedding_rows(rng):
    E = T.matrix("E")
    idx = T.lmatrix("idx")
    Ev = _rand(rng, 7, 3)
    iv = np.array([[0, 6, 2], [2, 2, -1]])
    out = th.function([E, idx], E[idx])(Ev, iv)
    assert out.shape == (2, 3, 3)
    np.testing.assert_array_equal(out, Ev[iv])


def test_out_of_range_gathers_are_index_errors_naming_the_op(rng):
    x = T.matrix("x")
    i = T.lvector("i")
    f = th.function([x, i], x[i])
    with pytest.raises(IndexError, match="AdvancedSubtensor1.*index 4 is out of bounds.*size 4"):
        f(_rand(rng, 4, 2), np.array([0, 4]))
    with pytest.raises(IndexError, match="index -5 is out of bounds"):
        f(_rand(rng, 4, 2), np.array([-5]))


def test_float_index_vectors_are_rejected():
    x = T.matrix("x")
    with pytest.raises(TypeError, match="index must be integers"):
        x[T.vector("f")]


# ---------------------------------------------------------------------------
# NumPy advanced indexing
# ---------------------------------------------------------------------------

ADVANCED = [
    ("paired", lambda x: x[[0, 2, 1], [1, 0, 3]], (3, 4)),
    ("paired_negative", lambda x: x[[-1, 0], [-4, 3]], (3, 4)),
    ("paired_broadcast", lambda x: x[np.array([[0], [2]]), np.array([1, 3])], (3, 4)),
    ("array_then_slice", lambda x: x[[2, 0], 1:3], (3, 4)),
    ("slice_then_array", lambda x: x[1:, [0, -1, 0]], (3, 4)),
    ("scalar_and_array", lambda x: x[1, [0, 3]], (3, 4)),
    ("separated_arrays", lambda x: x[[1, 0], :, [2, 2]], (2, 3, 4)),
    ("array_slice_scalar", lambda x: x[[1, 0], ::2, 0], (2, 3, 4)),
    ("three_arrays", lambda x: x[[0, 1], [2, 0], [3, 3]], (2, 3, 4)),
    ("mask_same_shape", lambda x: x[np.array([[True, False, True, False]] * 3)], (3, 4)),
    ("mask_on_rows", lambda x: x[np.array([True, False, True])], (3, 4)),
    ("mask_then_slice", lambda x: x[np.array([False, True, True]), 1:], (3, 4)),
]


@pytest.mark.parametrize("name,index,shape", ADVANCED, ids=[a[0] for a in ADVANCED])
def test_advanced_indexing_matches_numpy(name, index, shape, rng):
    x = _var("float64", len(shape))
    xv = _rand(rng, *shape)
    out = th.function([x], index(x))(xv)
    expected = index(xv)
    assert out.shape == expected.shape
    np.testing.assert_array_equal(out, expected)


def test_the_tutorial_negative_log_likelihood_picks_p_at_the_labels(rng):
    p = T.matrix("p")
    y = T.ivector("y")
    n = T.lvector("n")
    picked = T.log(p)[n, y]
    assert "AdvancedSubtensor" in _debugprint(picked)
    nll = -T.mean(picked)
    pv = rng.uniform(0.1, 1.0, size=(5, 3))
    yv = np.array([0, 2, 1, 1, 0], dtype="int32")
    out = th.function([p, y, n], nll)(pv, yv, np.arange(5))
    np.testing.assert_allclose(out, -np.mean(np.log(pv)[np.arange(5), yv]))


def test_a_symbolic_boolean_mask_selects_elements(rng):
    x = T.matrix("x")
    xv = _rand(rng, 3, 4)
    np.testing.assert_array_equal(th.function([x], x[x > 0])(xv), xv[xv > 0])
    v = T.vector("v")
    vv = _rand(rng, 6)
    np.testing.assert_array_equal(th.function([v], v[T.gt(v, 1.0)])(vv), vv[vv > 1.0])


def test_a_mask_of_the_wrong_shape_is_an_index_error(rng):
    x = T.matrix("x")
    m = T.TensorType("bool", (False,))("m")
    f = th.function([x, m], x[m])
    with pytest.raises(IndexError, match="boolean index did not match"):
        f(_rand(rng, 3, 2), np.array([True, False]))


def test_index_arrays_that_do_not_broadcast_are_index_errors(rng):
    x = T.matrix("x")
    a = T.lvector("a")
    b = T.lvector("b")
    f = th.function([x, a, b], x[a, b])
    with pytest.raises(IndexError, match="could not be broadcast"):
        f(_rand(rng, 3, 3), np.array([0, 1]), np.array([0, 1, 2]))
    with pytest.raises(IndexError, match="AdvancedSubtensor.*out of bounds for axis 1"):
        f(_rand(rng, 3, 3), np.array([0, 1]), np.array([0, 3]))


def test_python_bools_are_not_indices():
    x = T.vector("x")
    with pytest.raises(TypeError, match="boolean mask"):
        x[[True, False]]


def test_too_many_indices_are_an_index_error():
    x = T.matrix("x")
    with pytest.raises(IndexError, match="too many indices"):
        x[[0], [0], [0]]
    with pytest.raises(IndexError, match="too many indices"):
        x[0, 0, 0]


def test_ellipsis_expands_to_full_slices(rng):
    x = T.tensor3("x")
    xv = _rand(rng, 2, 3, 4)
    f = th.function([x], [x[..., 1], x[0, ...], x[..., [0, 2]], x[1, ..., 1:3]])
    for out, expected in zip(f(xv), [xv[..., 1], xv[0, ...], xv[..., [0, 2]], xv[1, ..., 1:3]]):
        np.testing.assert_array_equal(out, expected)
    with pytest.raises(IndexError, match="single Ellipsis"):
        x[..., 0, ...]


def test_new_axes_with_slices_match_numpy(rng):
    x = T.matrix("x")
    xv = _rand(rng, 3, 4)
    f = th.function([x], [x[None], x[:, None], x[1:, None, 2], x[None, 0]])
    for out, expected in zip(f(xv), [xv[None], xv[:, None], xv[1:, None, 2], xv[None, 0]]):
        assert out.shape == expected.shape
        np.testing.assert_array_equal(out, expected)


# ---------------------------------------------------------------------------
# set_subtensor and inc_subtensor
# ---------------------------------------------------------------------------

BASIC = [
    ("rows", lambda x: x[1:3], (2, 4)),
    ("one_row", lambda x: x[0], (4,)),
    ("negative_row", lambda x: x[-1], (4,)),
    ("strided", lambda x: x[::2, 1], (2,)),
    ("reversed", lambda x: x[::-1, 1:], (3, 3)),
    ("element", lambda x: x[2, -2], ()),
    ("empty", lambda x: x[3:1], (0, 4)),
]


@pytest.mark.parametrize("set_instead_of_inc", [False, True])
@pytest.mark.parametrize("name,index,yshape", BASIC, ids=[b[0] for b in BASIC])
def test_set_and_inc_subtensor_on_basic_indices_match_numpy(name, index, yshape, set_instead_of_inc, rng):
    x = T.matrix("x")
    y = _var("float64", len(yshape), "y")
    op = T.set_subtensor if set_instead_of_inc else T.inc_subtensor
    out_var = op(index(x), y)
    assert "IncSubtensor{%s;" % ("Set" if set_instead_of_inc else "Inc") in _debugprint(out_var)
    xv, yv = _rand(rng, 3, 4), _rand(rng, *yshape)
    before = xv.copy()
    out = th.function([x, y], out_var)(xv, yv)
    expected = xv.copy()
    if set_instead_of_inc:
        expected[_np_index(index)] = yv
    else:
        expected[_np_index(index)] += yv
    np.testing.assert_array_equal(out, expected)
    np.testing.assert_array_equal(xv, before)


def _np_index(index):
    """The NumPy index tuple that `index` applies (recovered from a probe)."""
    class Probe:
        def __getitem__(self, key):
            return key
    return index(Probe())


def test_the_value_broadcasts_into_the_region(rng):
    x = T.matrix("x")
    xv = _rand(rng, 4, 3)
    f = th.function([x], [T.set_subtensor(x[1:3], 7.0), T.inc_subtensor(x[:, 1:], np.array([1.0, 2.0])),
                          T.inc_subtensor(x[::2], np.ones((1, 3)))])
    a, b, c = f(xv)
    e = xv.copy()
    e[1:3] = 7.0
    np.testing.assert_array_equal(a, e)
    e = xv.copy()
    e[:, 1:] += [1.0, 2.0]
    np.testing.assert_array_equal(b, e)
    e = xv.copy()
    e[::2] += 1
    np.testing.assert_array_equal(c, e)


def test_inc_subtensor_with_repeated_indices_accumulates():
    v = T.vector("v")
    out = T.inc_subtensor(v[[0, 0, 1]], 1)
    np.testing.assert_array_equal(out.eval({v: np.array([1.0, 2.0, 3.0])}), [3.0, 3.0, 3.0])
    assert "AdvancedIncSubtensor1{no_inplace,inc}" in _debugprint(out)


def test_set_subtensor_with_repeated_indices_keeps_the_last_value():
    v = T.vector("v")
    out = T.set_subtensor(v[[0, 0, 1]], np.array([5.0, 6.0, 7.0]))
    np.testing.assert_array_equal(out.eval({v: np.zeros(3)}), [6.0, 7.0, 0.0])
    assert "AdvancedIncSubtensor1{no_inplace,set}" in _debugprint(out)


@pytest.mark.parametrize("set_instead_of_inc", [False, True])
@pytest.mark.parametrize("dtype", ["float64", "float32", "int32", "int64"])
def test_advanced_set_and_inc_on_rows_match_numpy(set_instead_of_inc, dtype, rng):
    x = _var(dtype, 2)
    i = T.lvector("i")
    y = _var(dtype, 2, "y")
    op = T.set_subtensor if set_instead_of_inc else T.inc_subtensor
    f = th.function([x, i, y], op(x[i], y))
    xv, yv = _rand(rng, 5, 3, dtype=dtype), _rand(rng, 4, 3, dtype=dtype)
    iv = np.array([3, -1, 0, 3])
    out = f(xv, iv, yv)
    expected = xv.copy()
    if set_instead_of_inc:
        expected[iv] = yv
    else:
        np.add.at(expected, iv, yv)
    assert out.dtype == np.dtype(dtype)
    np.testing.assert_array_equal(out, expected)


@pytest.mark.parametrize("set_instead_of_inc", [False, True])
def test_advanced_set_and_inc_with_paired_arrays_match_numpy(set_instead_of_inc, rng):
    x = T.matrix("x")
    a = T.lvector("a")
    b = T.lvector("b")
    y = T.vector("y")
    op = T.set_subtensor if set_instead_of_inc else T.inc_subtensor
    out_var = op(x[a, b], y)
    name = "AdvancedIncSubtensor{inplace=False,  set_instead_of_inc=%s}" % set_instead_of_inc
    assert name in _debugprint(out_var)
    xv, yv = _rand(rng, 3, 4), _rand(rng, 4)
    av, bv = np.array([0, 2, 0, -1]), np.array([1, 3, 1, 0])
    out = th.function([x, a, b, y], out_var)(xv, av, bv, yv)
    expected = xv.copy()
    if set_instead_of_inc:
        expected[av, bv] = yv
    else:
        np.add.at(expected, (av, bv), yv)
    np.testing.assert_array_equal(out, expected)


def test_set_and_inc_on_a_later_axis_and_on_an_index_matrix(rng):
    x = T.matrix("x")
    xv = _rand(rng, 3, 4)
    f = th.function([x], [T.inc_subtensor(x[:, [0, 3, 0]], 1.0), T.set_subtensor(x[np.array([[0, 1], [1, 2]])], 0.0),
                          T.inc_subtensor(x[1:, [1, 2]], np.array([[1.0, 2.0], [3.0, 4.0]]))])
    a, b, c = f(xv)
    e = xv.copy()
    np.add.at(e, (slice(None), [0, 3, 0]), 1.0)
    np.testing.assert_array_equal(a, e)
    e = xv.copy()
    e[np.array([[0, 1], [1, 2]])] = 0.0
    np.testing.assert_array_equal(b, e)
    e = xv.copy()
    e[1:, [1, 2]] += [[1.0, 2.0], [3.0, 4.0]]
    np.testing.assert_array_equal(c, e)


def test_set_subtensor_through_a_boolean_mask(rng):
    x = T.matrix("x")
    xv = _rand(rng, 3, 4)
    out = th.function([x], T.set_subtensor(x[x < 0], 0.0))(xv)
    np.testing.assert_array_equal(out, np.maximum(xv, 0.0))


def test_inc_subtensor_of_a_shared_variable_leaves_its_value_alone(rng):
    value = _rand(rng, 4)
    s = th.shared(value.copy())
    f = th.function([], T.inc_subtensor(s[1:], 1.0))
    np.testing.assert_array_equal(f(), value + [0, 1, 1, 1])
    np.testing.assert_array_equal(s.get_value(), value)


def test_inc_subtensor_as_an_update_writes_the_shared_variable(rng):
    value = _rand(rng, 5)
    s = th.shared(value.copy())
    i = T.lvector("i")
    f = th.function([i], [], updates=[(s, T.inc_subtensor(s[i], 10.0))])
    f(np.array([1, 1, 4]))
    np.testing.assert_array_equal(s.get_value(), value + [0, 20, 0, 0, 10])


def test_inplace_arguments_are_accepted():
    x = T.vector("x")
    out = T.set_subtensor(x[0], 1.0, inplace=False, tolerate_inplace_aliasing=True)
    np.testing.assert_array_equal(out.eval({x: np.zeros(2)}), [1.0, 0.0])
    out = T.inc_subtensor(x[0], 1.0, inplace=False, tolerate_inplace_aliasing=False)
    np.testing.assert_array_equal(out.eval({x: np.zeros(2)}), [1.0, 0.0])


def test_set_subtensor_needs_the_result_of_indexing():
    x = T.vector("x")
    with pytest.raises(TypeError, match="x must be the result of a subtensor operation"):
        T.set_subtensor(x, 1.0)
    with pytest.raises(TypeError, match="x must be the result of a subtensor operation"):
        T.inc_subtensor(x * 2, 1.0)


def test_a_value_of_more_dimensions_than_the_region_is_a_type_error():
    x = T.matrix("x")
    with pytest.raises(TypeError, match="Trying to increment a 1-dimensional subtensor with a 2-dimensional value"):
        T.inc_subtensor(x[0], T.matrix("y"))
    with pytest.raises(TypeError, match="2-dimensional"):
        T.set_subtensor(x[[0, 1], [0, 1]], T.matrix("y"))


def test_a_value_that_does_not_broadcast_is_a_value_error(rng):
    x = T.matrix("x")
    y = T.vector("y")
    f = th.function([x, y], T.set_subtensor(x[1:3], y))
    with pytest.raises(ValueError, match="IncSubtensor.*could not be broadcast"):
        f(_rand(rng, 4, 3), _rand(rng, 2))
    i = T.lvector("i")
    g = th.function([x, i, y], T.inc_subtensor(x[i], y))
    with pytest.raises(ValueError, match="AdvancedIncSubtensor1.*could not be broadcast"):
        g(_rand(rng, 4, 3), np.array([0]), _rand(rng, 5))


def test_out_of_range_increments_are_index_errors(rng):
    x = T.vector("x")
    i = T.lvector("i")
    f = th.function([x, i], T.inc_subtensor(x[i], 1.0))
    with pytest.raises(IndexError, match="AdvancedIncSubtensor1.*out of bounds"):
        f(_rand(rng, 3), np.array([1, 3]))
    j = T.lscalar("j")
    g = th.function([x, j], T.set_subtensor(x[j], 1.0))
    with pytest.raises(IndexError, match="IncSubtensor.*out of bounds"):
        g(_rand(rng, 3), -4)


def test_take_matches_numpy(rng):
    x = T.matrix("x")
    xv = _rand(rng, 3, 4)
    f = th.function([x], [T.take(x, [2, 0], axis=1), T.take(x, [5, -1]), x.take(np.array([[1, 0]]), axis=0)])
    a, b, c = f(xv)
    np.testing.assert_array_equal(a, np.take(xv, [2, 0], axis=1))
    np.testing.assert_array_equal(b, np.take(xv, [5, -1]))
    np.testing.assert_array_equal(c, np.take(xv, [[1, 0]], axis=0))


def test_indexing_ops_print_their_theano_names():
    x = T.matrix("x")
    i = T.lvector("i")
    names = _debugprint([x[i], x[i, i], T.inc_subtensor(x[1:, 0], 1.0), T.set_subtensor(x[i], 0.0)])
    for name in ["AdvancedSubtensor1", "AdvancedSubtensor ", "IncSubtensor{Inc;int64::, int64}",
                 "AdvancedIncSubtensor1{no_inplace,set}"]:
        assert name in names
