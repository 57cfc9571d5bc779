"""`T.nnet.conv2d` and `T.signal.pool.pool_2d`, with their gradient ops
(AbstractConv2d_gradWeights/gradInputs, MaxPoolGrad, AveragePoolGrad),
compared with NumPy reference loops and with finite differences of them."""
import itertools
import warnings

import numpy as np
import pytest

import rtensor as th
from rtensor.tensor.nnet import abstract_conv
from rtensor.tensor.signal import pool

T = th.tensor

FLOATS = ["float32", "float64"]


def _tol(dtype):
    return dict(rtol=1e-4, atol=1e-4) if dtype == "float32" else dict(rtol=1e-10, atol=1e-10)


def _t4(dtype, name):
    return T.tensor4(name, dtype=dtype)


def numeric_grad(f, x, eps=1e-3):
    """Central finite differences of the scalar function `f` at `x` (float64)."""
    x = np.array(x, dtype="float64")
    g = np.zeros_like(x)
    for idx in np.ndindex(*x.shape):
        old = x[idx]
        x[idx] = old + eps
        hi = f(x)
        x[idx] = old - eps
        lo = f(x)
        x[idx] = old
        g[idx] = (hi - lo) / (2 * eps)
    return g


# ---------------------------------------------------------------------------
# NumPy reference convolution
# ---------------------------------------------------------------------------


def ref_pads(border_mode, kshape, dilation):
    pads = []
    for axis in range(2):
        dk = (kshape[axis] - 1) * dilation[axis] + 1
        if border_mode == "valid":
            pads.append((0, 0))
        elif border_mode == "full":
            pads.append((dk - 1, dk - 1))
        elif border_mode == "half":
            pads.append((dk // 2, dk // 2))
        elif isinstance(border_mode, int):
            pads.append((border_mode, border_mode))
        else:
            p = border_mode[axis]
            pads.append(tuple(p) if isinstance(p, tuple) else (p, p))
    return pads


def ref_conv2d(img, kern, border_mode="valid", subsample=(1, 1), filter_flip=True, dilation=(1, 1)):
    img = np.asarray(img, dtype="float64")
    kern = np.asarray(kern, dtype="float64")
    if filter_flip:
        kern = kern[:, :, ::-1, ::-1]
    kh, kw = kern.shape[2:]
    (pt, pb), (pl, pr) = ref_pads(border_mode, (kh, kw), dilation)
    padded = np.zeros(img.shape[:2] + (img.shape[2] + pt + pb, img.shape[3] + pl + pr))
    padded[:, :, pt:pt + img.shape[2], pl:pl + img.shape[3]] = img
    dh, dw = (kh - 1) * dilation[0] + 1, (kw - 1) * dilation[1] + 1
    oh = (padded.shape[2] - dh) // subsample[0] + 1
    ow = (padded.shape[3] - dw) // subsample[1] + 1
    out = np.zeros((img.shape[0], kern.shape[0], oh, ow))
    for y in range(oh):
        for x in range(ow):
            y0, x0 = y * subsample[0], x * subsample[1]
            patch = padded[:, :, y0:y0 + dh:dilation[0], x0:x0 + dw:dilation[1]]
            out[:, :, y, x] = np.einsum("nchw,fchw->nf", patch, kern)
    return out


BORDER_MODES = ["valid", "full", "half", 1, (2, 1), ((1, 2), (0, 1))]
SUBSAMPLES = [(1, 1), (2, 2), (3, 2)]
# (image shape, filter shape): batch 1, odd sizes, channels > 1, 1x1 filters, non-square filters
CONV_SHAPES = [
    ((1, 1, 5, 5), (1, 1, 3, 3)),
    ((2, 3, 7, 6), (4, 3, 2, 3)),
    ((3, 2, 6, 9), (2, 2, 1, 1)),
    ((1, 4, 4, 4), (3, 4, 4, 4)),
]


def _conv_fn(dtype, **kw):
    x, w = _t4(dtype, "x"), _t4(dtype, "w")
    return th.function([x, w], T.nnet.conv2d(x, w, **kw))


@pytest.mark.parametrize("dtype", FLOATS)
@pytest.mark.parametrize("border_mode", BORDER_MODES, ids=str)
@pytest.mark.parametrize("subsample", SUBSAMPLES, ids=str)
@pytest.mark.parametrize("filter_flip", [True, False])
def test_conv2d_matches_a_numpy_reference(dtype, border_mode, subsample, filter_flip, rng):
    f = _conv_fn(dtype, border_mode=border_mode, subsample=subsample, filter_flip=filter_flip)
    for ishape, kshape in CONV_SHAPES:
        xv = rng.uniform(-1, 1, size=ishape).astype(dtype)
        wv = rng.uniform(-1, 1, size=kshape).astype(dtype)
        out = f(xv, wv)
        expected = ref_conv2d(xv, wv, border_mode, subsample, filter_flip)
        assert out.dtype == np.dtype(dtype)
        assert out.shape == expected.shape
        np.testing.assert_allclose(out, expected, **_tol(dtype))


@pytest.mark.parametrize("dilation", [(2, 1), (2, 2), (1, 3)], ids=str)
@pytest.mark.parametrize("border_mode", ["valid", "full", "half", (1, 2)], ids=str)
@pytest.mark.parametrize("subsample", [(1, 1), (2, 1)], ids=str)
def test_dilated_conv2d_spaces_the_filter_taps(dilation, border_mode, subsample, rng):
    f = _conv_fn("float64", border_mode=border_mode, subsample=subsample, filter_dilation=dilation)
    xv = rng.uniform(-1, 1, size=(2, 2, 9, 8))
    wv = rng.uniform(-1, 1, size=(3, 2, 3, 2))
    expected = ref_conv2d(xv, wv, border_mode, subsample, True, dilation)
    np.testing.assert_allclose(f(xv, wv), expected, rtol=1e-10, atol=1e-10)


@pytest.mark.parametrize("dtype", FLOATS)
def test_a_lenet_sized_convolution_matches_numpy(dtype, rng):
    f = _conv_fn(dtype, input_shape=(64, 1, 28, 28), filter_shape=(20, 1, 5, 5))
    xv = rng.uniform(0, 1, size=(64, 1, 28, 28)).astype(dtype)
    wv = rng.uniform(-0.2, 0.2, size=(20, 1, 5, 5)).astype(dtype)
    np.testing.assert_allclose(f(xv, wv), ref_conv2d(xv, wv), **_tol(dtype))


def test_conv2d_of_a_strided_view_reads_the_strides(rng):
    x, w = T.dtensor4("x"), T.dtensor4("w")
    f = th.function([x, w], T.nnet.conv2d(x.dimshuffle(0, 1, 3, 2), w))
    xv = rng.uniform(-1, 1, size=(2, 2, 6, 5))
    wv = rng.uniform(-1, 1, size=(3, 2, 2, 2))
    np.testing.assert_allclose(f(xv, wv), ref_conv2d(xv.transpose(0, 1, 3, 2), wv), rtol=1e-10)


def test_conv2d_keeps_float32_and_the_batch_and_filter_broadcastable_flags():
    x = T.TensorType("float32", (True, False, False, False))("x")
    w = T.ftensor4("w")
    y = T.nnet.conv2d(x, w)
    assert y.dtype == "float32"
    assert tuple(y.broadcastable) == (True, False, False, False)


def test_conv2d_prints_as_theanos_abstract_conv2d():
    y = T.nnet.conv2d(T.dtensor4(), T.dtensor4(), input_shape=(None, 1, 28, 28), border_mode=(1, 2),
                      subsample=(2, 2))
    assert y.owner.op.name == (
        "AbstractConv2d{convdim=2, border_mode=(1, 2), subsample=(2, 2), filter_flip=True, "
        "imshp=(None, 1, 28, 28), kshp=(None, None, None, None), filter_dilation=(1, 1), num_groups=1, "
        "unshared=False}")
    assert "border_mode='valid'" in T.nnet.conv2d(T.dtensor4(), T.dtensor4(), border_mode=(0, 0)).owner.op.name
    assert "border_mode=((1, 2), 0)" in T.nnet.conv2d(T.dtensor4(), T.dtensor4(),
                                                      border_mode=((1, 2), (0, 0))).owner.op.name


def test_the_old_conv_module_convolves_with_image_shape(rng):
    from rtensor.tensor.nnet import conv

    x, w = T.dtensor4("x"), T.dtensor4("w")
    f = th.function([x, w], conv.conv2d(x, w, image_shape=(2, 3, 6, 6), filter_shape=(4, 3, 3, 3),
                                        border_mode="full"))
    xv = rng.uniform(-1, 1, size=(2, 3, 6, 6))
    wv = rng.uniform(-1, 1, size=(4, 3, 3, 3))
    np.testing.assert_allclose(f(xv, wv), ref_conv2d(xv, wv, "full"), rtol=1e-10)


def test_image_shape_is_a_deprecated_name_for_input_shape(rng):
    x, w = T.dtensor4("x"), T.dtensor4("w")
    with pytest.warns(UserWarning, match="image_shape"):
        y = T.nnet.conv2d(x, w, image_shape=(1, 1, 4, 4))
    assert "imshp=(1, 1, 4, 4)" in y.owner.op.name


def test_mismatched_channels_are_a_value_error_naming_the_op_and_the_shapes():
    f = _conv_fn("float64")
    with pytest.raises(ValueError, match=r"AbstractConv2d.*3 channels.*2.*\(1, 3, 5, 5\).*\(2, 2, 3, 3\)"):
        f(np.zeros((1, 3, 5, 5)), np.zeros((2, 2, 3, 3)))


def test_an_input_that_breaks_the_promised_input_shape_is_an_assertion_error():
    f = _conv_fn("float64", input_shape=(None, 1, 6, 6))
    with pytest.raises(AssertionError, match="AbstractConv shape mismatch.*imshp"):
        f(np.zeros((1, 1, 5, 5)), np.zeros((1, 1, 2, 2)))
    g = _conv_fn("float64", filter_shape=(1, 1, 3, 3))
    with pytest.raises(AssertionError, match="kshp"):
        g(np.zeros((1, 1, 5, 5)), np.zeros((1, 1, 2, 2)))


def test_filters_larger_than_the_input_are_a_value_error():
    f = _conv_fn("float64")
    with pytest.raises(ValueError, match=r"AbstractConv2d.*do not fit"):
        f(np.zeros((1, 1, 3, 3)), np.zeros((1, 1, 4, 2)))


def test_conv2d_needs_4d_float_tensors():
    with pytest.raises(TypeError, match="AbstractConv2d.*4D"):
        T.nnet.conv2d(T.dmatrix(), T.dtensor4())
    with pytest.raises(TypeError, match="AbstractConv2d.*floats"):
        T.nnet.conv2d(T.ltensor4(), T.dtensor4())


@pytest.mark.parametrize("bad", ["same", -1, (1, 2, 3), (1, -1), ((1, 2, 3), 0)], ids=str)
def test_an_invalid_border_mode_is_a_value_error(bad):
    with pytest.raises(ValueError, match="border"):
        T.nnet.conv2d(T.dtensor4(), T.dtensor4(), border_mode=bad)


def test_grouped_and_unshared_convolutions_are_not_implemented():
    with pytest.raises(NotImplementedError):
        T.nnet.conv2d(T.dtensor4(), T.dtensor4(), num_groups=2)
    with pytest.raises(NotImplementedError):
        T.nnet.conv2d(T.dtensor4(), T.dtensor4(), unshared=True)


# ---------------------------------------------------------------------------
# convolution gradients
# ---------------------------------------------------------------------------

GRAD_CASES = list(itertools.product(["valid", "full", "half", (1, 2), ((0, 2), (1, 0))], [(1, 1), (2, 2), (1, 3)],
                                    [True, False]))


@pytest.mark.parametrize("border_mode,subsample,filter_flip", GRAD_CASES, ids=str)
def test_grad_weights_matches_finite_differences_of_the_reference(border_mode, subsample, filter_flip, rng):
    ishape, kshape = (2, 2, 7, 6), (3, 2, 3, 2)
    xv = rng.uniform(-1, 1, size=ishape)
    wv = rng.uniform(-1, 1, size=kshape)
    top_shape = ref_conv2d(xv, wv, border_mode, subsample, filter_flip).shape
    gv = rng.uniform(-1, 1, size=top_shape)
    x, g = T.dtensor4("x"), T.dtensor4("g")
    dw = abstract_conv.conv2d_grad_wrt_weights(x, g, kshape, border_mode=border_mode, subsample=subsample,
                                               filter_flip=filter_flip)
    assert dw.owner.op.name.startswith("AbstractConv2d_gradWeights{")
    out = th.function([x, g], dw)(xv, gv)
    expected = numeric_grad(lambda z: np.sum(gv * ref_conv2d(xv, z, border_mode, subsample, filter_flip)), wv)
    assert out.shape == kshape
    np.testing.assert_allclose(out, expected, rtol=1e-7, atol=1e-8)


@pytest.mark.parametrize("border_mode,subsample,filter_flip", GRAD_CASES, ids=str)
def test_grad_inputs_matches_finite_differences_of_the_reference(border_mode, subsample, filter_flip, rng):
    ishape, kshape = (2, 2, 7, 6), (3, 2, 3, 2)
    xv = rng.uniform(-1, 1, size=ishape)
    wv = rng.uniform(-1, 1, size=kshape)
    top_shape = ref_conv2d(xv, wv, border_mode, subsample, filter_flip).shape
    gv = rng.uniform(-1, 1, size=top_shape)
    w, g = T.dtensor4("w"), T.dtensor4("g")
    dx = abstract_conv.conv2d_grad_wrt_inputs(g, w, ishape, border_mode=border_mode, subsample=subsample,
                                              filter_flip=filter_flip)
    assert dx.owner.op.name.startswith("AbstractConv2d_gradInputs{")
    out = th.function([w, g], dx)(wv, gv)
    expected = numeric_grad(lambda z: np.sum(gv * ref_conv2d(z, wv, border_mode, subsample, filter_flip)), xv)
    assert out.shape == ishape
    np.testing.assert_allclose(out, expected, rtol=1e-7, atol=1e-8)


@pytest.mark.parametrize("dilation", [(2, 1), (2, 2)], ids=str)
def test_the_gradient_ops_handle_dilation(dilation, rng):
    ishape, kshape = (1, 2, 8, 7), (2, 2, 2, 3)
    xv = rng.uniform(-1, 1, size=ishape)
    wv = rng.uniform(-1, 1, size=kshape)
    kw = dict(border_mode="half", subsample=(2, 1), filter_dilation=dilation)
    ref = lambda a, b: ref_conv2d(a, b, "half", (2, 1), True, dilation)  # noqa: E731
    gv = rng.uniform(-1, 1, size=ref(xv, wv).shape)
    x, w, g = T.dtensor4("x"), T.dtensor4("w"), T.dtensor4("g")
    f = th.function([x, w, g], [abstract_conv.conv2d_grad_wrt_weights(x, g, kshape, **kw),
                                abstract_conv.conv2d_grad_wrt_inputs(g, w, ishape, **kw)])
    dw, dx = f(xv, wv, gv)
    np.testing.assert_allclose(dw, numeric_grad(lambda z: np.sum(gv * ref(xv, z)), wv), rtol=1e-7, atol=1e-8)
    np.testing.assert_allclose(dx, numeric_grad(lambda z: np.sum(gv * ref(z, wv)), xv), rtol=1e-7, atol=1e-8)


@pytest.mark.parametrize("dtype", FLOATS)
def test_the_gradient_ops_keep_the_dtype_and_match_on_a_larger_batch(dtype, rng):
    # Large enough for the batch-parallel paths; compared with the linear-algebra identities
    # <g, conv(x, w)> = <dW, w> = <dX, x>.
    ishape, kshape = (40, 3, 12, 11), (8, 3, 3, 3)
    xv = rng.uniform(-1, 1, size=ishape).astype(dtype)
    wv = rng.uniform(-1, 1, size=kshape).astype(dtype)
    gv = rng.uniform(-1, 1, size=(40, 8, 10, 9)).astype(dtype)
    x, w, g = _t4(dtype, "x"), _t4(dtype, "w"), _t4(dtype, "g")
    f = th.function([x, w, g], [abstract_conv.conv2d_grad_wrt_weights(x, g, kshape),
                                abstract_conv.conv2d_grad_wrt_inputs(g, w, ishape), T.nnet.conv2d(x, w)])
    dw, dx, y = f(xv, wv, gv)
    assert dw.dtype == np.dtype(dtype) and dx.dtype == np.dtype(dtype)
    inner = np.sum(gv.astype("float64") * ref_conv2d(xv, wv))
    rtol = 1e-4 if dtype == "float32" else 1e-10
    np.testing.assert_allclose(np.sum(dw.astype("float64") * wv), inner, rtol=rtol)
    np.testing.assert_allclose(np.sum(dx.astype("float64") * xv), inner, rtol=rtol)
    np.testing.assert_allclose(y, ref_conv2d(xv, wv), **_tol(dtype))
    # dW against a direct correlation of inputs and output gradients.
    direct = np.zeros(kshape)
    for y0 in range(10):
        for x0 in range(9):
            direct += np.einsum("nf,nchw->fchw", gv[:, :, y0, x0], xv[:, :, y0:y0 + 3, x0:x0 + 3])
    np.testing.assert_allclose(dw, direct[:, :, ::-1, ::-1], **_tol(dtype))


def test_grad_inputs_with_a_symbolic_image_shape(rng):
    w, g = T.dtensor4("w"), T.dtensor4("g")
    rows, cols = T.lscalar("rows"), T.lscalar("cols")
    dx = abstract_conv.conv2d_grad_wrt_inputs(g, w, (None, None, rows, cols), subsample=(2, 2))
    f = th.function([w, g, rows, cols], dx)
    wv = rng.uniform(-1, 1, size=(2, 1, 3, 3))
    xv = rng.uniform(-1, 1, size=(1, 1, 8, 7))
    gv = rng.uniform(-1, 1, size=ref_conv2d(xv, wv, subsample=(2, 2)).shape)
    expected = numeric_grad(lambda z: np.sum(gv * ref_conv2d(z, wv, subsample=(2, 2))), xv)
    np.testing.assert_allclose(f(wv, gv, 8, 7), expected, rtol=1e-7, atol=1e-8)
    # The same output gradient fits an image one row shorter with stride 2.
    expected7 = numeric_grad(lambda z: np.sum(gv * ref_conv2d(z, wv, subsample=(2, 2))), xv[:, :, :7])
    np.testing.assert_allclose(f(wv, gv, 7, 7), expected7, rtol=1e-7, atol=1e-8)


def test_grad_inputs_with_an_inconsistent_output_gradient_names_the_op():
    w, g = T.dtensor4("w"), T.dtensor4("g")
    f = th.function([w, g], abstract_conv.conv2d_grad_wrt_inputs(g, w, (1, 1, 6, 6)))
    with pytest.raises(ValueError, match=r"AbstractConv2d_gradInputs.*\(1, 2, 5, 5\).*\(1, 2, 4, 4\)"):
        f(np.zeros((2, 1, 3, 3)), np.zeros((1, 2, 5, 5)))
    with pytest.raises(ValueError, match=r"AbstractConv2d_gradInputs.*3 channels.*2 filters"):
        f(np.zeros((2, 1, 3, 3)), np.zeros((1, 3, 4, 4)))


def test_grad_weights_with_a_batch_mismatch_names_the_op():
    x, g = T.dtensor4("x"), T.dtensor4("g")
    f = th.function([x, g], abstract_conv.conv2d_grad_wrt_weights(x, g, (2, 1, 3, 3)))
    with pytest.raises(ValueError, match=r"AbstractConv2d_gradWeights.*\(3, 2, 4, 4\)"):
        f(np.zeros((2, 1, 6, 6)), np.zeros((3, 2, 4, 4)))


def test_the_gradient_shape_input_must_be_an_integer_vector():
    with pytest.raises(TypeError, match="AbstractConv2d_gradWeights.*shape"):
        abstract_conv.AbstractConv2d_gradWeights()(T.dtensor4(), T.dtensor4(), T.dvector())


# ---------------------------------------------------------------------------
# NumPy reference pooling (Theano's Pool.perform)
# ---------------------------------------------------------------------------


def ref_out_len(v, ws, st, ignore_border):
    if ignore_border:
        return v // st if ws == st else max((v - ws) // st + 1, 0)
    if st >= ws:
        return (v - 1) // st + 1
    return max(0, (v - 1 - ws + st) // st) + 1


def ref_regions(x_shape, ws, stride, pad, ignore_border, mode):
    img = [x_shape[-2 + i] + 2 * pad[i] for i in range(2)]
    outs = [ref_out_len(img[i], ws[i], stride[i], ignore_border) for i in range(2)]
    regions = []
    for i in range(2):
        axis = []
        for j in range(outs[i]):
            start = j * stride[i]
            end = min(start + ws[i], img[i])
            if mode != "average_inc_pad":
                start = max(start, pad[i])
                end = min(end, img[i] - pad[i])
            axis.append((start, end))
        regions.append(axis)
    return img, outs, regions


def ref_pool(x, ws, ignore_border, stride=None, pad=(0, 0), mode="max"):
    stride = stride or ws
    x = np.asarray(x)
    img, outs, regions = ref_regions(x.shape, ws, stride, pad, ignore_border, mode)
    y = np.zeros(x.shape[:-2] + tuple(img), dtype="float64")
    y[..., pad[0]:img[0] - pad[0], pad[1]:img[1] - pad[1]] = x
    func = {"max": np.max, "sum": np.sum}.get(mode, np.average)
    z = np.zeros(x.shape[:-2] + tuple(outs))
    for k in np.ndindex(*x.shape[:-2]):
        for r in range(outs[0]):
            for c in range(outs[1]):
                (r0, r1), (c0, c1) = regions[0][r], regions[1][c]
                z[k + (r, c)] = func(y[k][r0:r1, c0:c1])
    return z


def ref_max_pool_grad(x, gz, ws, ignore_border, stride=None, pad=(0, 0)):
    """Every input equal to its window's maximum gets the window's gradient."""
    stride = stride or ws
    maxout = ref_pool(x, ws, ignore_border, stride, pad, "max")
    img, outs, regions = ref_regions(x.shape, ws, stride, pad, ignore_border, "max")
    gx = np.zeros(x.shape[:-2] + tuple(img))
    y = np.zeros(x.shape[:-2] + tuple(img))
    y[..., pad[0]:img[0] - pad[0], pad[1]:img[1] - pad[1]] = x
    for k in np.ndindex(*x.shape[:-2]):
        for r in range(outs[0]):
            for c in range(outs[1]):
                (r0, r1), (c0, c1) = regions[0][r], regions[1][c]
                window = y[k][r0:r1, c0:c1]
                gx[k][r0:r1, c0:c1] += (window == maxout[k + (r, c)]) * gz[k + (r, c)]
    return gx[..., pad[0]:img[0] - pad[0], pad[1]:img[1] - pad[1]]


POOL_SHAPES = [(1, 1, 5, 5), (2, 3, 6, 7), (4, 5), (2, 1, 3, 4, 5)]
POOL_WINDOWS = [((2, 2), None), ((3, 2), None), ((1, 1), None), ((2, 2), (1, 1)), ((3, 3), (2, 1)),
                ((2, 3), (3, 3))]
MODES = ["max", "sum", "average_inc_pad", "average_exc_pad"]


def _pool_fn(ndim, dtype, **kw):
    x = T.TensorType(dtype, (False,) * ndim)("x")
    return th.function([x], pool.pool_2d(x, **kw))


@pytest.mark.parametrize("dtype", FLOATS)
@pytest.mark.parametrize("mode", MODES)
@pytest.mark.parametrize("ignore_border", [True, False])
@pytest.mark.parametrize("ws,stride", POOL_WINDOWS, ids=str)
def test_pool_2d_matches_theanos_reference_loops(dtype, mode, ignore_border, ws, stride, rng):
    for shape in POOL_SHAPES:
        f = _pool_fn(len(shape), dtype, ws=ws, stride=stride, ignore_border=ignore_border, mode=mode)
        xv = rng.uniform(-3, 3, size=shape).astype(dtype)
        out = f(xv)
        expected = ref_pool(xv, ws, ignore_border, stride, (0, 0), mode)
        assert out.dtype == np.dtype(dtype)
        assert out.shape == expected.shape
        np.testing.assert_allclose(out, expected, **_tol(dtype))


@pytest.mark.parametrize("mode", MODES)
@pytest.mark.parametrize("pad", [(1, 1), (1, 0), (0, 2)], ids=str)
@pytest.mark.parametrize("ws,stride", [((2, 3), None), ((3, 3), (2, 2)), ((3, 4), (1, 3))], ids=str)
def test_padded_pooling_matches_theanos_reference_loops(mode, pad, ws, stride, rng):
    for shape in [(1, 1, 5, 5), (2, 2, 6, 7)]:
        f = _pool_fn(4, "float64", ws=ws, stride=stride, pad=pad, ignore_border=True, mode=mode)
        xv = rng.uniform(-3, 3, size=shape)
        np.testing.assert_allclose(f(xv), ref_pool(xv, ws, True, stride, pad, mode), rtol=1e-12)


@pytest.mark.parametrize("mode", ["max", "sum"])
def test_integer_pooling_stays_integer(mode, rng):
    f = _pool_fn(4, "int32", ws=(2, 2), ignore_border=False, mode=mode)
    xv = rng.randint(-50, 50, size=(2, 2, 5, 4)).astype("int32")
    out = f(xv)
    assert out.dtype == np.int32
    np.testing.assert_array_equal(out, ref_pool(xv, (2, 2), False, None, (0, 0), mode))


@pytest.mark.parametrize("shape,ignore_border,expected", [
    ((5, 5), True, (2, 2)), ((5, 5), False, (3, 3)), ((4, 4), False, (2, 2)), ((1, 1), True, (0, 0)),
    ((1, 1), False, (1, 1))])
def test_pool_output_shapes_follow_theanos_rules(shape, ignore_border, expected):
    f = _pool_fn(2, "float64", ws=(2, 2), ignore_border=ignore_border)
    assert f(np.ones(shape)).shape == expected


def test_pool_keeps_float32_and_the_leading_broadcastable_flags():
    x = T.TensorType("float32", (True, False, True, True))("x")
    y = pool.pool_2d(x, (2, 2), ignore_border=True)
    assert y.dtype == "float32"
    assert tuple(y.broadcastable) == (True, False, False, False)


def test_pool_prints_with_theanos_name_and_constant_window_inputs():
    y = pool.pool_2d(T.dtensor4("x"), ws=(2, 2), ignore_border=True, mode="average_exc_pad")
    assert y.owner.op.name == "Pool{ignore_border=True, mode='average_exc_pad', ndim=2}"
    assert [str(i) for i in y.owner.inputs[1:]] == ["TensorConstant{(2,) of 2}", "TensorConstant{(2,) of 2}",
                                                     "TensorConstant{(2,) of 0}"]


def test_the_old_ds_keyword_gives_the_window_with_a_warning(rng):
    x = T.dtensor4("x")
    with pytest.warns(UserWarning, match="'ds'"):
        y = pool.pool_2d(x, ds=(2, 2), ignore_border=True)
    xv = rng.uniform(size=(1, 2, 4, 6))
    np.testing.assert_allclose(th.function([x], y)(xv), ref_pool(xv, (2, 2), True))


def test_ignore_border_left_out_warns_and_keeps_the_border(rng):
    x = T.dmatrix("x")
    with pytest.warns(UserWarning, match="ignore_border"):
        y = pool.pool_2d(x, (2, 2))
    assert th.function([x], y)(np.ones((5, 5))).shape == (3, 3)


def test_symbolic_window_parameters_are_read_at_run_time(rng):
    x = T.dtensor4("x")
    ws = T.lvector("ws")
    f = th.function([x, ws], pool.Pool(ignore_border=True, mode="sum")(x, ws))
    xv = rng.uniform(size=(1, 1, 6, 6))
    np.testing.assert_allclose(f(xv, [3, 2]), ref_pool(xv, (3, 2), True, mode="sum"), rtol=1e-12)
    with pytest.raises(ValueError, match="Pool.*ws must be a vector of size 2"):
        f(xv, [2, 2, 2])
    with pytest.raises(ValueError, match="Pool.*positive"):
        f(xv, [0, 2])


def test_padding_needs_ignore_border():
    with pytest.raises(NotImplementedError, match="padding works only with ignore_border=True"):
        pool.pool_2d(T.dtensor4(), (2, 2), ignore_border=False, pad=(1, 1))


def test_padding_must_be_smaller_than_the_window():
    with pytest.raises(NotImplementedError, match="padding must be smaller"):
        pool.pool_2d(T.dtensor4(), (2, 2), ignore_border=True, pad=(2, 0))


def test_pooling_errors_name_the_problem():
    with pytest.raises(ValueError, match="Pool mode parameter only support"):
        pool.pool_2d(T.dtensor4(), (2, 2), ignore_border=True, mode="median")
    with pytest.raises(ValueError, match="both 'ws' and 'ds'"):
        pool.pool_2d(T.dtensor4(), ws=(2, 2), ds=(2, 2), ignore_border=True)
    with pytest.raises(ValueError, match="window size"):
        pool.pool_2d(T.dtensor4(), ignore_border=True)
    with pytest.raises(NotImplementedError, match="dimension >= 2"):
        pool.pool_2d(T.dvector(), (2, 2), ignore_border=True)
    with pytest.raises(TypeError, match="Pool downsample parameters must be ints"):
        pool.Pool(True)(T.dtensor4(), T.dvector())


# ---------------------------------------------------------------------------
# pooling gradients
# ---------------------------------------------------------------------------

GRAD_WINDOWS = [((2, 2), None, (0, 0)), ((3, 2), (1, 2), (0, 0)), ((3, 3), (2, 2), (1, 1)), ((2, 3), (2, 2), (1, 2))]
# (ignore_border, ws, stride, pad): padding needs ignore_border=True.
GRAD_CASES_POOL = [(ib, ws, st, pad) for ib in (True, False) for ws, st, pad in GRAD_WINDOWS if ib or pad == (0, 0)]


def _distinct(rng, shape):
    """Values far apart, so a small step never changes which element is the maximum."""
    n = int(np.prod(shape))
    return (rng.permutation(n).reshape(shape) * 0.1).astype("float64")


@pytest.mark.parametrize("ignore_border,ws,stride,pad", GRAD_CASES_POOL, ids=str)
def test_max_pool_grad_matches_finite_differences(ignore_border, ws, stride, pad, rng):
    for shape in [(1, 1, 5, 5), (2, 2, 6, 7), (4, 5)]:
        x = T.TensorType("float64", (False,) * len(shape))("x")
        out = pool.pool_2d(x, ws, ignore_border=ignore_border, stride=stride, pad=pad)
        gz = T.TensorType("float64", (False,) * len(shape))("gz")
        gx = pool.MaxPoolGrad(ignore_border)(x, out, gz, ws, stride, pad)
        assert gx.owner.op.name == "MaxPoolGrad{ignore_border=%s, mode='max', ndim=2}" % ignore_border
        xv = _distinct(rng, shape)
        gzv = rng.uniform(-1, 1, size=ref_pool(xv, ws, ignore_border, stride, pad).shape)
        got = th.function([x, gz], gx)(xv, gzv)
        expected = numeric_grad(lambda z: np.sum(gzv * ref_pool(z, ws, ignore_border, stride, pad)), xv, eps=1e-4)
        np.testing.assert_allclose(got, expected, rtol=1e-7, atol=1e-8)


def test_max_pool_grad_routes_the_gradient_to_every_tied_maximum():
    x, gz = T.dmatrix("x"), T.dmatrix("gz")
    out = pool.pool_2d(x, (2, 2), ignore_border=True)
    f = th.function([x, gz], pool.MaxPoolGrad(True)(x, out, gz, (2, 2)))
    xv = np.array([[1.0, 3.0, 0.0, 0.0], [3.0, 2.0, 0.0, -1.0]])
    gzv = np.array([[2.0, 5.0]])
    np.testing.assert_array_equal(f(xv, gzv), ref_max_pool_grad(xv, gzv, (2, 2), True))
    np.testing.assert_array_equal(f(xv, gzv), [[0, 2, 5, 5], [2, 0, 5, 0]])


@pytest.mark.parametrize("dtype", FLOATS)
def test_max_pool_grad_matches_the_reference_on_float32_and_float64(dtype, rng):
    shape = (3, 4, 9, 8)
    x, gz = _t4(dtype, "x"), _t4(dtype, "gz")
    out = pool.pool_2d(x, (3, 3), ignore_border=True, stride=(2, 2), pad=(1, 1))
    f = th.function([x, gz], pool.MaxPoolGrad(True)(x, out, gz, (3, 3), (2, 2), (1, 1)))
    xv = rng.uniform(-1, 1, size=shape).astype(dtype)
    gzv = rng.uniform(-1, 1, size=ref_pool(xv, (3, 3), True, (2, 2), (1, 1)).shape).astype(dtype)
    got = f(xv, gzv)
    assert got.dtype == np.dtype(dtype)
    np.testing.assert_allclose(got, ref_max_pool_grad(xv, gzv, (3, 3), True, (2, 2), (1, 1)), **_tol(dtype))


@pytest.mark.parametrize("mode", ["sum", "average_inc_pad", "average_exc_pad"])
@pytest.mark.parametrize("ignore_border,ws,stride,pad", GRAD_CASES_POOL, ids=str)
def test_average_pool_grad_matches_finite_differences(mode, ignore_border, ws, stride, pad, rng):
    for shape in [(1, 1, 5, 5), (2, 2, 6, 7), (4, 5)]:
        x = T.TensorType("float64", (False,) * len(shape))("x")
        gz = T.TensorType("float64", (False,) * len(shape))("gz")
        gx = pool.AveragePoolGrad(ignore_border, mode)(x, gz, ws, stride, pad)
        assert gx.owner.op.name == "AveragePoolGrad{ignore_border=%s, mode='%s', ndim=2}" % (ignore_border, mode)
        xv = rng.uniform(-1, 1, size=shape)
        gzv = rng.uniform(-1, 1, size=ref_pool(xv, ws, ignore_border, stride, pad, mode).shape)
        got = th.function([x, gz], gx)(xv, gzv)
        expected = numeric_grad(lambda z: np.sum(gzv * ref_pool(z, ws, ignore_border, stride, pad, mode)), xv)
        np.testing.assert_allclose(got, expected, rtol=1e-7, atol=1e-8)


def test_average_pool_grad_keeps_float32(rng):
    x, gz = T.ftensor4("x"), T.ftensor4("gz")
    f = th.function([x, gz], pool.AveragePoolGrad(True, "average_inc_pad")(x, gz, (2, 2)))
    xv = rng.uniform(size=(2, 3, 6, 4)).astype("float32")
    gzv = rng.uniform(size=(2, 3, 3, 2)).astype("float32")
    got = f(xv, gzv)
    assert got.dtype == np.float32
    np.testing.assert_allclose(got, np.repeat(np.repeat(gzv / 4, 2, axis=2), 2, axis=3), rtol=1e-6)


def test_a_pool_gradient_of_the_wrong_shape_names_the_op_and_the_shapes():
    x, gz = T.dtensor4("x"), T.dtensor4("gz")
    f = th.function([x, gz], pool.AveragePoolGrad(True, "sum")(x, gz, (2, 2)))
    with pytest.raises(ValueError, match=r"AveragePoolGrad: gz has shape \(1, 1, 3, 3\).*\(1, 1, 4, 4\).*\(1, 1, 2, 2\)"):
        f(np.zeros((1, 1, 4, 4)), np.zeros((1, 1, 3, 3)))
    out = pool.pool_2d(x, (2, 2), ignore_border=True)
    g = th.function([x, gz], pool.MaxPoolGrad(True)(x, out, gz, (2, 2)))
    with pytest.raises(ValueError, match=r"MaxPoolGrad: gz has shape"):
        g(np.zeros((1, 1, 4, 4)), np.zeros((1, 1, 3, 3)))


def test_max_pool_2d_same_size_keeps_only_each_windows_maximum(rng):
    x = T.dtensor4("x")
    f = th.function([x], pool.max_pool_2d_same_size(x, (2, 2)))
    xv = _distinct(rng, (1, 2, 4, 4))
    out = f(xv)
    blocks = xv.reshape(1, 2, 2, 2, 2, 2).transpose(0, 1, 2, 4, 3, 5).reshape(1, 2, 2, 2, 4)
    keep = blocks == blocks.max(axis=-1, keepdims=True)
    expected = (blocks * keep).reshape(1, 2, 2, 2, 2, 2).transpose(0, 1, 2, 4, 3, 5).reshape(1, 2, 4, 4)
    np.testing.assert_array_equal(out, expected)


def test_t_signal_pool_is_reachable_from_t():
    assert T.signal.pool.pool_2d is pool.pool_2d
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        pool.pool_2d(T.dtensor4(), ws=(2, 2), ignore_border=True)
