"""Building and rearranging tensors, compared with NumPy: join/concatenate/
stack/split, the alloc family (alloc, fill, zeros, ones, *_like), arange,
eye, repeat, tile, shape padding and broadcast patterns (Rebroadcast)."""
import warnings

import numpy as np
import pytest

import rtensor as th

T = th.tensor
debugprint = th.printing.debugprint


def _var(dtype, ndim, name=None, bcast=None):
    return T.TensorType(dtype, tuple(bcast) if bcast is not None else (False,) * ndim)(name)


def _rand(rng, shape, dtype, low=-5, high=5):
    if dtype == "bool":
        return rng.randint(0, 2, size=shape).astype(bool)
    if np.dtype(dtype).kind in "iu":
        low = 0 if np.dtype(dtype).kind == "u" else low
        return np.asarray(rng.randint(low, high + 1, size=shape), dtype=dtype)
    return np.asarray(rng.uniform(low, high, size=shape), dtype=dtype)


def _check(out, expected, dtype=None):
    expected = np.asarray(expected)
    assert isinstance(out, np.ndarray)
    assert out.shape == expected.shape
    if dtype is not None:
        assert out.dtype == np.dtype(dtype)
    if out.dtype.kind == "f":
        np.testing.assert_allclose(out, expected, rtol=1e-6 if out.dtype.itemsize == 4 else 1e-12)
    else:
        np.testing.assert_array_equal(out, expected)


def _owner_name(v):
    info = v.owner_info()
    return None if info is None else info[0]


# ---------------------------------------------------------------------------
# join / concatenate
# ---------------------------------------------------------------------------

JOIN_CASES = [
    # (shapes, axis)
    ([(2, 3), (4, 3)], 0),
    ([(2, 3), (2, 5), (2, 1)], 1),
    ([(2, 3), (2, 5)], -1),
    ([(3, 2, 4), (3, 1, 4)], -2),
    ([(1, 4), (1, 4)], 0),
    ([(5,), (0,), (2,)], 0),
    ([(0, 3), (2, 3)], 0),
    ([(0, 3), (0, 2)], 1),
    ([(2, 1, 3), (2, 1, 3), (2, 1, 3)], 2),
]

JOIN_DTYPES = [("float64", "float64"), ("float32", "float32"), ("int32", "int8"), ("int64", "float32"),
               ("uint8", "int8"), ("bool", "bool"), ("float16", "float32")]


@pytest.mark.parametrize("shapes,axis", JOIN_CASES)
@pytest.mark.parametrize("da,db", JOIN_DTYPES)
def test_concatenate_matches_numpy_for_shapes_axes_and_dtypes(shapes, axis, da, db, rng):
    dtypes = [da if i % 2 == 0 else db for i in range(len(shapes))]
    xs = [_var(d, len(s), "x%d" % i) for i, (d, s) in enumerate(zip(dtypes, shapes))]
    vals = [_rand(rng, s, d) for s, d in zip(shapes, dtypes)]
    out = th.function(xs, T.concatenate(xs, axis=axis))(*vals)
    expected = np.concatenate(vals, axis=axis)
    _check(out, expected, dtype=np.result_type(*[np.dtype(d) for d in dtypes]))


def test_join_takes_the_axis_first_and_accepts_a_symbolic_axis(rng):
    x, y = T.dmatrix("x"), T.dmatrix("y")
    a = T.iscalar("a")
    f = th.function([a, x, y], T.join(a, x, y))
    xv, yv = rng.rand(3, 3), rng.rand(3, 3)
    for axis in (0, 1, -1, -2):
        _check(f(axis, xv, yv), np.concatenate([xv, yv], axis=axis))


def test_join_with_an_out_of_range_symbolic_axis_raises_index_error(rng):
    x, y = T.dmatrix("x"), T.dmatrix("y")
    a = T.iscalar("a")
    f = th.function([a, x, y], T.join(a, x, y))
    with pytest.raises(IndexError, match="Join"):
        f(2, rng.rand(2, 2), rng.rand(2, 2))
    with pytest.raises(IndexError, match="Join"):
        f(-3, rng.rand(2, 2), rng.rand(2, 2))


def test_join_of_one_tensor_is_that_tensor():
    x = T.dmatrix("x")
    assert T.join(0, x) == x
    assert T.concatenate([x], axis=1) == x
    with pytest.raises(ValueError):
        T.concatenate([x], axis=2)


def test_join_inputs_mismatched_off_the_axis_fail_at_run_time_naming_join(rng):
    x, y = T.dmatrix("x"), T.dmatrix("y")
    f = th.function([x, y], T.concatenate([x, y], axis=0))
    with pytest.raises(ValueError, match=r"Join.*dimension 1.*size 3.*size 4") as e:
        f(rng.rand(2, 3), rng.rand(2, 4))
    assert "(2, 3)" in str(e.value) or "[2, 3]" in str(e.value)


def test_join_errors_at_build_time():
    x, y, v, s = T.dmatrix("x"), T.dmatrix("y"), T.dvector("v"), T.dscalar("s")
    with pytest.raises(ValueError, match="out of range"):
        T.concatenate([x, y], axis=2)
    with pytest.raises(IndexError, match="out of bounds"):
        T.concatenate([x, y], axis=-3)
    with pytest.raises(TypeError, match="same number of dimensions"):
        T.concatenate([x, v])
    with pytest.raises(TypeError, match="dimension 0"):
        T.concatenate([s, s])
    with pytest.raises(TypeError, match="axis"):
        T.join(T.dscalar("a"), x, y)
    with pytest.raises(ValueError, match="empty"):
        T.concatenate([])
    with pytest.raises(TypeError, match="tuple or a list"):
        T.concatenate(x, y)


def test_join_output_is_broadcastable_where_an_input_is_except_on_the_axis():
    r1, r2 = T.drow("r1"), T.drow("r2")
    assert T.concatenate([r1, r2], axis=1).broadcastable == [True, False]
    assert T.concatenate([r1, r2], axis=0).broadcastable == [False, False]
    c, m = T.dcol("c"), T.dmatrix("m")
    assert T.concatenate([c, m], axis=0).broadcastable == [False, True]
    assert T.join(T.iscalar("a"), r1, r2).broadcastable == [False, False]


def test_join_upcasts_like_numpy_and_names_itself_join():
    x, y = T.ivector("x"), T.fvector("y")
    j = T.concatenate([x, y])
    assert j.dtype == "float64"
    assert debugprint(j, file="str").splitlines()[0].startswith("Join [id A]")
    assert "TensorConstant{0}" in debugprint(j, file="str")


def test_join_reads_strided_views(rng):
    x = T.dmatrix("x")
    f = th.function([x], T.concatenate([x.T, x[::2]], axis=0))
    xv = rng.rand(4, 4)
    _check(f(xv), np.concatenate([xv.T, xv[::2]], axis=0))


# ---------------------------------------------------------------------------
# stack, horizontal/vertical stack
# ---------------------------------------------------------------------------

@pytest.mark.parametrize("shape", [(3,), (2, 3), (2, 0, 4)])
@pytest.mark.parametrize("axis", [0, 1, -1])
def test_stack_adds_a_new_axis_like_numpy(shape, axis, rng):
    if axis > len(shape):
        pytest.skip("axis beyond the new rank")
    xs = [_var("float32", len(shape), "x%d" % i) for i in range(3)]
    vals = [_rand(rng, shape, "float32") for _ in xs]
    out = th.function(xs, T.stack(xs, axis=axis))(*vals)
    _check(out, np.stack(vals, axis=axis), dtype="float32")


def test_stack_of_scalars_is_a_make_vector_of_the_upcast_dtype():
    a, b = T.iscalar("a"), T.dscalar("b")
    v = T.stack([a, b, 2])
    assert v.ndim == 1 and v.dtype == "float64"
    assert _owner_name(v) == "MakeVector{dtype='float64'}"
    _check(th.function([a, b], v)(1, 2.5), [1.0, 2.5, 2.0])


def test_stack_accepts_the_deprecated_positional_form_with_a_warning(rng):
    x, y = T.dvector("x"), T.dvector("y")
    with warnings.catch_warnings(record=True) as w:
        warnings.simplefilter("always")
        s = T.stack(x, y)
    assert any(issubclass(i.category, DeprecationWarning) for i in w)
    xv, yv = rng.rand(3), rng.rand(3)
    _check(th.function([x, y], s)(xv, yv), np.stack([xv, yv]))


def test_stack_of_nothing_is_an_error():
    with pytest.raises(ValueError):
        T.stack([])


def test_horizontal_and_vertical_stack_join_matrices(rng):
    x, y = T.dmatrix("x"), T.dmatrix("y")
    xv, yv = rng.rand(2, 3), rng.rand(2, 3)
    h, v = th.function([x, y], [T.horizontal_stack(x, y), T.vertical_stack(x, y)])(xv, yv)
    _check(h, np.hstack([xv, yv]))
    _check(v, np.vstack([xv, yv]))
    with pytest.raises(TypeError):
        T.horizontal_stack(x, T.dvector("v"))


# ---------------------------------------------------------------------------
# split
# ---------------------------------------------------------------------------

@pytest.mark.parametrize("shape,splits,axis", [
    ((6,), [3, 2, 1], 0),
    ((2, 7), [1, 0, 6], 1),
    ((4, 3, 2), [2, 2], 0),
    ((4, 3, 2), [1, 2], -2),
    ((3, 5), [5], 1),
])
@pytest.mark.parametrize("dtype", ["float64", "int32", "bool"])
def test_split_matches_numpy_split_at_the_cumulative_points(shape, splits, axis, dtype, rng):
    x = _var(dtype, len(shape), "x")
    parts = T.split(x, splits, len(splits), axis=axis)
    parts = parts if isinstance(parts, list) else [parts]
    xv = _rand(rng, shape, dtype)
    outs = th.function([x], parts)(xv)
    expected = np.split(xv, np.cumsum(splits)[:-1], axis=axis)
    assert len(outs) == len(expected)
    for o, e in zip(outs, expected):
        _check(o, e, dtype=dtype)


def test_split_sizes_can_be_symbolic(rng):
    x = T.dvector("x")
    s = T.lvector("s")
    a, b = T.split(x, s, 2)
    f = th.function([x, s], [a, b])
    xv = rng.rand(5)
    for cut in (0, 2, 5):
        oa, ob = f(xv, [cut, 5 - cut])
        _check(oa, xv[:cut])
        _check(ob, xv[cut:])


def test_split_sizes_that_do_not_add_up_raise_value_error(rng):
    x = T.dvector("x")
    s = T.lvector("s")
    f = th.function([x, s], T.split(x, s, 2))
    with pytest.raises(ValueError, match="sum to 4, expected 5"):
        f(rng.rand(5), [2, 2])
    with pytest.raises(ValueError, match="negative"):
        f(rng.rand(5), [6, -1])
    with pytest.raises(ValueError, match="count"):
        f(rng.rand(5), [1, 1, 3])


def test_split_checks_types_at_build_time():
    x = T.dmatrix("x")
    with pytest.raises(TypeError):
        T.split(x, T.dvector("s"), 2)
    with pytest.raises(TypeError):
        T.split(x, [1, 1], 2, axis=T.dscalar("a"))
    with pytest.raises(IndexError):
        T.split(x, [1, 1], 2, axis=2)
    with pytest.raises(ValueError):
        T.split(x, [1, 1, 1], 2)


def test_split_names_itself_with_its_output_count():
    x = T.dvector("x")
    a, b, c = T.split(x, [1, 1, 1], 3)
    assert _owner_name(a) == "Split{3}"
    assert a.index == 0 and c.index == 2


# ---------------------------------------------------------------------------
# alloc, fill, zeros, ones, zeros_like, ones_like
# ---------------------------------------------------------------------------

@pytest.mark.parametrize("vshape,shape", [
    ((), (2, 3)),
    ((3,), (2, 3)),
    ((1, 3), (4, 3)),
    ((2, 1), (2, 5)),
    ((3,), (2, 2, 3)),
    ((), (0, 4)),
    ((4,), (0, 4)),
    ((), ()),
])
@pytest.mark.parametrize("dtype", ["float64", "float32", "int16", "bool"])
def test_alloc_broadcasts_the_value_to_the_shape(vshape, shape, dtype, rng):
    v = _var(dtype, len(vshape), "v")
    dims = [T.lscalar("d%d" % i) for i in range(len(shape))]
    f = th.function([v] + dims, T.alloc(v, *dims))
    value = _rand(rng, vshape, dtype)
    _check(f(value, *shape), np.broadcast_to(value, shape), dtype=dtype)


def test_alloc_with_constant_shape_is_broadcastable_where_the_length_is_one():
    v = T.dscalar("v")
    n = T.lscalar("n")
    assert T.alloc(v, 1, n, 3).broadcastable == [True, False, False]
    assert T.alloc(v, n, 1).broadcastable == [False, True]


def test_alloc_checks_its_arguments_at_build_time():
    v = T.dmatrix("v")
    with pytest.raises(TypeError, match="more dimensions"):
        T.alloc(v, 3)
    with pytest.raises(TypeError, match="integers"):
        T.alloc(T.dscalar("s"), T.dscalar("n"))
    with pytest.raises(TypeError, match="scalar"):
        T.alloc(T.dscalar("s"), T.lvector("n"))


def test_alloc_refuses_bad_shapes_at_run_time_naming_alloc(rng):
    v = T.dvector("v")
    n, m = T.lscalar("n"), T.lscalar("m")
    f = th.function([v, n, m], T.alloc(v, n, m))
    with pytest.raises(ValueError, match="Alloc.*negative"):
        f(rng.rand(3), -1, 3)
    with pytest.raises(ValueError, match=r"Alloc.*\[3\].*\[2, 4\]"):
        f(rng.rand(3), 2, 4)


def test_alloc_output_is_a_fresh_buffer_on_every_call():
    f = th.function([], T.zeros((2, 3)))
    a = f()
    a[0, 0] = 7.0
    b = f()
    assert b[0, 0] == 0.0
    assert debugprint(f, file="str").count("Alloc") == 1


@pytest.mark.parametrize("floatX", ["float64", "float32"])
def test_zeros_and_ones_default_to_floatx(floatX):
    th.config.floatX = floatX
    z, o = T.zeros((2, 3)), T.ones(4)
    assert z.dtype == floatX and o.dtype == floatX
    zv, ov = th.function([], [z, o])()
    _check(zv, np.zeros((2, 3), dtype=floatX), dtype=floatX)
    _check(ov, np.ones(4, dtype=floatX), dtype=floatX)


def test_zeros_and_ones_accept_a_dtype_and_a_symbolic_shape(rng):
    x = T.dmatrix("x")
    z = T.zeros(x.shape, dtype="int32")
    o = T.ones((x.shape[1], 2), dtype="uint8")
    zv, ov = th.function([x], [z, o])(rng.rand(3, 5))
    _check(zv, np.zeros((3, 5), dtype="int32"), dtype="int32")
    _check(ov, np.ones((5, 2), dtype="uint8"), dtype="uint8")
    assert _owner_name(z) == "Alloc"


@pytest.mark.parametrize("dtype", ["float64", "float32", "int8", "bool"])
@pytest.mark.parametrize("shape", [(3,), (2, 4), (0, 2), ()])
def test_zeros_like_and_ones_like_keep_the_model_shape_and_dtype(dtype, shape, rng):
    x = _var(dtype, len(shape), "x")
    zv, ov = th.function([x], [T.zeros_like(x), T.ones_like(x)])(_rand(rng, shape, dtype))
    _check(zv, np.zeros_like(np.empty(shape, dtype=dtype)), dtype=dtype)
    _check(ov, np.ones_like(np.empty(shape, dtype=dtype)), dtype=dtype)


def test_zeros_like_with_a_dtype_and_its_theano_graph(rng):
    x = T.dmatrix("x")
    z = T.zeros_like(x, dtype="int64")
    assert z.dtype == "int64"
    text = debugprint(z, file="str")
    assert text.splitlines()[0].startswith("Elemwise{second,no_inplace}")
    assert "TensorConstant{0}" in text
    _check(th.function([x], z)(rng.rand(2, 3)), np.zeros((2, 3), dtype="int64"), dtype="int64")


@pytest.mark.parametrize("mshape,vshape", [((2, 3), ()), ((2, 3), (3,)), ((2, 3), (2, 1)), ((4,), (4,))])
def test_fill_broadcasts_the_value_to_the_model_in_the_value_dtype(mshape, vshape, rng):
    m = _var("int32", len(mshape), "m")
    v = _var("float32", len(vshape), "v")
    mv, vv = _rand(rng, mshape, "int32"), _rand(rng, vshape, "float32")
    out = th.function([m, v], T.fill(m, v))(mv, vv)
    _check(out, np.broadcast_to(vv, np.broadcast_shapes(mshape, vshape)), dtype="float32")
    assert T.second is T.fill


# ---------------------------------------------------------------------------
# arange
# ---------------------------------------------------------------------------

@pytest.mark.parametrize("args", [(5,), (0,), (-3,), (2, 10), (2, 10, 3), (10, 2, -3), (10, 2), (-4, 7, 2),
                                  (0.5, 3), (1, 2, 0.1), (3.0, -1.5, -0.5), (0, 1, 0.3)])
def test_arange_matches_numpy(args):
    out = T.arange(*args).eval()
    expected = np.arange(*args)
    assert out.shape == expected.shape
    np.testing.assert_allclose(out, expected.astype(out.dtype), rtol=1e-6)


@pytest.mark.parametrize("dtype", ["int32", "float32", "float64", "uint8", "int8"])
def test_arange_with_symbolic_arguments_and_explicit_dtype(dtype):
    a, b, c = T.lscalar("a"), T.lscalar("b"), T.lscalar("c")
    f = th.function([a, b, c], T.arange(a, b, c, dtype=dtype))
    for args in [(0, 7, 1), (1, 20, 4), (9, 0, -2), (5, 5, 1)]:
        _check(f(*args), np.arange(*args, dtype=dtype), dtype=dtype)


def test_arange_dtype_follows_theano_rules():
    assert T.arange(5).dtype == "int64"
    assert T.arange(T.iscalar("n")).dtype == "int64"
    assert T.arange(T.bscalar("n")).dtype == "int64"
    u8 = T.TensorType("uint8", ())
    assert T.arange(u8("a"), u8("b"), u8("c")).dtype == "uint64"
    assert T.arange(u8("n")).dtype == "int64"  # the int8 literals 0 and 1 make it signed
    assert T.arange(0.5, 3).dtype == "float32"
    assert T.arange(T.fscalar("a"), 3).dtype == "float32"
    assert T.arange(T.dscalar("a"), 3).dtype == "float64"
    assert T.arange(0.1).dtype == "float64"
    assert T.arange(3, dtype="int16").dtype == "int16"


def test_arange_dtype_under_cast_policy_numpy_floatx():
    th.config.cast_policy = "numpy+floatX"
    th.config.floatX = "float32"
    u8 = T.TensorType("uint8", ())
    assert T.arange(T.iscalar("n")).dtype == "int64"
    assert T.arange(u8("a"), u8("b"), u8("c")).dtype == "int64"
    assert T.arange(T.fscalar("a"), 3).dtype == "float32"
    assert T.arange(T.fscalar("a"), T.iscalar("b")).dtype == "float64"
    assert T.arange(T.dscalar("a"), 3).dtype == "float64"
    th.config.floatX = "float64"
    assert T.arange(T.fscalar("a"), 3).dtype == "float64"


def test_arange_with_a_zero_step_raises_value_error():
    s = T.lscalar("s")
    f = th.function([s], T.arange(0, 5, s))
    with pytest.raises(ValueError, match="step"):
        f(0)


def test_arange_checks_its_arguments_are_scalars_and_names_its_dtype():
    with pytest.raises(TypeError, match="scalars"):
        T.arange(T.lvector("v"))
    assert _owner_name(T.arange(3)) == "ARange{dtype='int64'}"
    assert _owner_name(T.arange(0.5, 2.0)) == "ARange{dtype='float32'}"


def test_arange_of_a_shape_indexes_rows(rng):
    """The NLL idiom p[arange(n), y] needs arange over a symbolic length."""
    x = T.dmatrix("x")
    r = T.arange(x.shape[0])
    xv = rng.rand(4, 3)
    _check(th.function([x], r)(xv), np.arange(4), dtype="int64")


# ---------------------------------------------------------------------------
# eye, identity_like
# ---------------------------------------------------------------------------

@pytest.mark.parametrize("n,m,k", [(3, None, 0), (3, 5, 0), (4, 2, 1), (4, 4, -1), (3, 3, 5), (3, 4, -7),
                                   (0, 3, 0), (2, 0, 0)])
@pytest.mark.parametrize("dtype", ["float64", "float32", "int32", "bool"])
def test_eye_matches_numpy(n, m, k, dtype):
    out = T.eye(n, m, k, dtype=dtype).eval()
    _check(out, np.eye(n, m, k, dtype=dtype), dtype=dtype)


def test_eye_takes_symbolic_sizes_and_defaults_to_floatx():
    n, k = T.lscalar("n"), T.iscalar("k")
    e = T.eye(n, k=k)
    assert e.dtype == "float64" and e.broadcastable == [False, False]
    f = th.function([n, k], e)
    _check(f(3, 1), np.eye(3, k=1))
    assert _owner_name(e) == "Eye{dtype='float64'}"
    th.config.floatX = "float32"
    assert T.eye(2).dtype == "float32"


def test_eye_errors():
    with pytest.raises(TypeError):
        T.eye(T.dscalar("n"))
    n = T.lscalar("n")
    with pytest.raises(ValueError, match="negative"):
        th.function([n], T.eye(n))(-1)


def test_identity_like_has_the_shape_and_dtype_of_its_model(rng):
    x = T.fmatrix("x")
    out = th.function([x], T.identity_like(x))(_rand(rng, (3, 4), "float32"))
    _check(out, np.eye(3, 4, dtype="float32"), dtype="float32")


# ---------------------------------------------------------------------------
# repeat
# ---------------------------------------------------------------------------

@pytest.mark.parametrize("shape,axis", [((4,), None), ((4,), 0), ((2, 3), None), ((2, 3), 0), ((2, 3), 1),
                                        ((2, 3), -1), ((2, 1, 3), 1), ((0, 3), 0), ((2, 0), 1)])
@pytest.mark.parametrize("reps", [0, 1, 3])
@pytest.mark.parametrize("dtype", ["float64", "int32"])
def test_repeat_by_a_scalar_matches_numpy(shape, axis, reps, dtype, rng):
    x = _var(dtype, len(shape), "x")
    xv = _rand(rng, shape, dtype)
    out = th.function([x], T.repeat(x, reps, axis=axis))(xv)
    _check(out, np.repeat(xv, reps, axis=axis), dtype=dtype)


def test_repeat_by_a_symbolic_scalar_matches_numpy(rng):
    x = T.dmatrix("x")
    r = T.iscalar("r")
    f = th.function([x, r], x.repeat(r, axis=0))
    xv = rng.rand(2, 3)
    for n in (0, 1, 4):
        _check(f(xv, n), np.repeat(xv, n, axis=0))


@pytest.mark.parametrize("shape,counts,axis", [((3,), [1, 0, 2], 0), ((2, 3), [2, 1, 3], 1), ((2, 3), [3, 1], 0),
                                               ((2, 3), [1, 2, 0, 1, 1, 2], None), ((3, 2), [2], None)])
@pytest.mark.parametrize("dtype", ["float32", "int64", "bool"])
def test_repeat_by_a_vector_of_counts_matches_numpy(shape, counts, axis, dtype, rng):
    x = _var(dtype, len(shape), "x")
    c = T.lvector("c")
    f = th.function([x, c], T.repeat(x, c, axis=axis))
    xv = _rand(rng, shape, dtype)
    _check(f(xv, counts), np.repeat(xv, counts, axis=axis), dtype=dtype)


def test_repeat_by_a_vector_is_a_repeat_op_with_the_normalized_axis():
    x = T.dmatrix("x")
    c = T.lvector("c")
    assert _owner_name(T.repeat(x, c, axis=-1)) == "RepeatOp{axis=1}"
    assert _owner_name(T.repeat(x, c)) == "RepeatOp{axis=None}"
    assert T.repeat(x, c, axis=1).broadcastable == [False, False]


def test_repeat_counts_that_do_not_fit_raise_value_error(rng):
    x = T.dvector("x")
    c = T.lvector("c")
    f = th.function([x, c], T.repeat(x, c, axis=0))
    with pytest.raises(ValueError, match="could not be broadcast"):
        f(rng.rand(3), [1, 2])
    with pytest.raises(ValueError, match="negative"):
        f(rng.rand(3), [1, -2, 1])


def test_repeat_argument_errors():
    x = T.dmatrix("x")
    with pytest.raises(ValueError):
        T.repeat(x, T.lmatrix("c"))
    with pytest.raises(TypeError):
        T.repeat(x, T.dvector("c"), axis=0)
    with pytest.raises(ValueError):
        T.repeat(x, 2, axis=2)
    with pytest.raises(ValueError):
        T.repeat(x, T.lvector("c"), axis=-3)


# ---------------------------------------------------------------------------
# tile
# ---------------------------------------------------------------------------

@pytest.mark.parametrize("shape,reps", [((3,), 2), ((3,), (2,)), ((2, 3), (2, 1)), ((2, 3), (3,)),
                                        ((2, 3), (2, 2, 2)), ((2, 1, 2), (1, 3, 2)), ((0, 2), (2, 3)),
                                        ((2, 3), (0, 1)), ((), (3,))])
@pytest.mark.parametrize("dtype", ["float64", "int8"])
def test_tile_matches_numpy(shape, reps, dtype, rng):
    x = _var(dtype, len(shape), "x")
    xv = _rand(rng, shape, dtype)
    out = th.function([x], T.tile(x, reps))(xv)
    _check(out, np.tile(xv, reps), dtype=dtype)


def test_tile_with_symbolic_repetitions_and_a_larger_ndim(rng):
    x = T.dmatrix("x")
    r = T.iscalar("r")
    xv = rng.rand(2, 3)
    f = th.function([x, r], T.tile(x, [r, 2]))
    _check(f(xv, 3), np.tile(xv, (3, 2)))
    g = th.function([x], T.tile(x, (2, 1), ndim=3))
    _check(g(xv), np.tile(xv, (1, 2, 1)))


def test_tile_argument_errors():
    x = T.dmatrix("x")
    with pytest.raises(ValueError):
        T.tile(x, (2, 2), ndim=1)
    with pytest.raises(ValueError):
        T.tile(x, (1, 2, 3), ndim=2)
    with pytest.raises(ValueError):
        T.tile(x, [1.5, 2])
    with pytest.raises(ValueError):
        T.tile(x, T.dscalar("r"))


# ---------------------------------------------------------------------------
# shape padding, transpose
# ---------------------------------------------------------------------------

def test_shape_padding_adds_broadcastable_axes(rng):
    x = T.dmatrix("x")
    xv = rng.rand(2, 3)
    cases = [
        (T.shape_padleft(x), (1, 2, 3), [True, False, False]),
        (T.shape_padleft(x, 2), (1, 1, 2, 3), [True, True, False, False]),
        (T.shape_padright(x), (2, 3, 1), [False, False, True]),
        (T.shape_padaxis(x, 1), (2, 1, 3), [False, True, False]),
        (T.shape_padaxis(x, -1), (2, 3, 1), [False, False, True]),
        (T.shape_padaxis(x, -3), (1, 2, 3), [True, False, False]),
    ]
    outs = th.function([x], [c[0] for c in cases])(xv)
    for out, (v, shape, bcast) in zip(outs, cases):
        assert v.broadcastable == bcast
        _check(out, xv.reshape(shape))
    with pytest.raises(IndexError):
        T.shape_padaxis(x, 3)
    with pytest.raises(IndexError):
        T.shape_padaxis(x, -4)


@pytest.mark.parametrize("axes", [None, (1, 0, 2), (2, 0, 1), (0, 1, 2)])
def test_transpose_with_axes_matches_numpy(axes, rng):
    x = T.dtensor3("x")
    xv = rng.rand(2, 3, 4)
    out = th.function([x], T.transpose(x, axes))(xv)
    _check(out, np.transpose(xv, axes))


# ---------------------------------------------------------------------------
# addbroadcast / unbroadcast / patternbroadcast (Rebroadcast)
# ---------------------------------------------------------------------------

def test_addbroadcast_marks_a_dimension_broadcastable_and_checks_it_at_run_time(rng):
    x = T.dmatrix("x")
    y = T.dmatrix("y")
    r = T.addbroadcast(x, 0)
    assert r.broadcastable == [True, False]
    assert _owner_name(r) == "Rebroadcast{1}"
    f = th.function([x, y], r + y)
    xv, yv = rng.rand(1, 3), rng.rand(4, 3)
    _check(f(xv, yv), xv + yv)
    with pytest.raises(ValueError, match="Rebroadcast.*dimension 0.*got 2"):
        f(rng.rand(2, 3), yv)


def test_addbroadcast_accepts_negative_axes_and_several_axes():
    x = T.dtensor3("x")
    r = T.addbroadcast(x, -1, 0)
    assert r.broadcastable == [True, False, True]
    assert _owner_name(r) == "Rebroadcast{1,?,1}"
    with pytest.raises(ValueError):
        T.addbroadcast(x, 3)


def test_unbroadcast_and_patternbroadcast(rng):
    r = T.drow("r")
    u = T.unbroadcast(r, 0)
    assert u.broadcastable == [False, False]
    assert _owner_name(u) == "Rebroadcast{0}"
    m = T.dmatrix("m")
    p = T.patternbroadcast(m, (False, True))
    assert p.broadcastable == [False, True]
    assert _owner_name(p) == "Rebroadcast{?,1}"
    mv = rng.rand(3, 1)
    _check(th.function([m], p)(mv), mv)
    rv = rng.rand(1, 4)
    _check(th.function([r], u)(rv), rv)


def test_rebroadcast_that_changes_nothing_adds_no_node():
    x = T.dmatrix("x")
    assert T.unbroadcast(x, 0, 1) == x
    assert T.patternbroadcast(x, (False, False)) == x
    r = T.drow("r")
    assert T.addbroadcast(r, 0) == r


# ---------------------------------------------------------------------------
# nonzero, flatnonzero
# ---------------------------------------------------------------------------

@pytest.mark.parametrize("shape", [(6,), (3, 4), (2, 3, 2), (0, 3), (1, 1)])
@pytest.mark.parametrize("dtype", ["float64", "int32", "bool"])
def test_nonzero_matches_numpy(shape, dtype, rng):
    x = _var(dtype, len(shape), "x")
    xv = _rand(rng, shape, dtype, low=-1, high=1)
    parts = th.function([x], list(T.nonzero(x)))(xv)
    expected = np.nonzero(xv)
    assert len(parts) == len(expected)
    for p, e in zip(parts, expected):
        _check(p, e, dtype="int64")
    matrix = th.function([x], x.nonzero(return_matrix=True))(xv)
    _check(matrix, np.array(expected, dtype="int64").reshape(len(shape), -1), dtype="int64")
    _check(th.function([x], T.flatnonzero(x))(xv), np.flatnonzero(xv), dtype="int64")


def test_nonzero_of_a_scalar_is_an_error():
    with pytest.raises(ValueError, match="non-scalar"):
        T.nonzero(T.dscalar("s"))
    with pytest.raises(ValueError):
        T.flatnonzero(T.dscalar("s"))
