"""2-d convolution of image batches (Theano's
`theano.tensor.nnet.abstract_conv`): `conv2d` and its gradients with respect
to the inputs and the filters, each one op of the Rust core (im2col + GEMM)."""

import numbers
import warnings

from ... import _core
from ...graph import wrap
from ..var import as_tensor_variable

__all__ = ["conv2d", "conv2d_grad_wrt_inputs", "conv2d_grad_wrt_weights", "AbstractConv2d",
           "AbstractConv2d_gradWeights", "AbstractConv2d_gradInputs"]


def _shape_param(shape, what):
    """A promised shape: None, or entries that are None or constant ints."""
    if shape is None:
        return None
    out = []
    for d in shape:
        if d is None:
            out.append(None)
        elif isinstance(d, numbers.Integral):
            out.append(int(d))
        elif isinstance(d, _core.Var) and d.constant_value() is not None and d.ndim == 0:
            out.append(int(d.constant_value()))
        else:
            raise ValueError("%s should be None or a tuple of constant int values" % what)
    return out


def _border_mode(mode):
    if isinstance(mode, numbers.Integral) and not isinstance(mode, bool):
        return int(mode)
    if isinstance(mode, tuple):
        return tuple(_border_mode(m) if not isinstance(m, str) else m for m in mode)
    return mode


class _Conv2dOp:
    _kind = None

    def __init__(self, imshp=None, kshp=None, border_mode="valid", subsample=(1, 1), filter_flip=True,
                 filter_dilation=(1, 1), num_groups=1, unshared=False):
        if num_groups != 1:
            raise NotImplementedError("grouped convolutions (num_groups=%r) are not supported" % (num_groups,))
        if unshared:
            raise NotImplementedError("unshared convolutions are not supported")
        self.imshp = _shape_param(imshp, "imshp")
        self.kshp = _shape_param(kshp, "kshp")
        self.border_mode = _border_mode(border_mode)
        self.subsample = [int(s) for s in subsample]
        self.filter_flip = bool(filter_flip)
        self.filter_dilation = [int(d) for d in filter_dilation]

    def __call__(self, *inputs):
        return wrap(_core.conv2d_op(self._kind, [as_tensor_variable(i) for i in inputs], self.border_mode,
                                    self.subsample, self.filter_flip, self.imshp, self.kshp, self.filter_dilation))


class AbstractConv2d(_Conv2dOp):
    """`AbstractConv2d(...)(img, kern)`: the forward convolution."""

    _kind = "forward"


class AbstractConv2d_gradWeights(_Conv2dOp):
    """`AbstractConv2d_gradWeights(...)(img, topgrad, shape)`: the gradient
    with respect to the filters; `shape` is the filters' (rows, cols)."""

    _kind = "grad_weights"


class AbstractConv2d_gradInputs(_Conv2dOp):
    """`AbstractConv2d_gradInputs(...)(kern, topgrad, shape)`: the gradient
    with respect to the images; `shape` is the images' (rows, cols)."""

    _kind = "grad_inputs"


def conv2d(input, filters, input_shape=None, filter_shape=None, border_mode="valid", subsample=(1, 1),
           filter_flip=True, image_shape=None, filter_dilation=(1, 1), num_groups=1, unshared=False, **kwargs):
    """Convolves a batch of images `(batch, channels, rows, cols)` with
    filters `(n_filters, channels, rows, cols)`.

    `border_mode`: 'valid' (no padding), 'full' (filter size - 1 on each
    side), 'half' (filter size // 2), an int, or a pair of ints or of
    (before, after) pairs. `subsample` is the stride, `filter_dilation` the
    spacing of the filter taps; `filter_flip=False` gives a cross-correlation.
    `input_shape`/`filter_shape` (None where unknown) are checked at run time.
    """
    if "imshp_logical" in kwargs or "kshp_logical" in kwargs:
        raise ValueError("Keyword arguments 'imshp_logical' and 'kshp_logical' for conv2d are not supported anymore "
                         "(and have not been a reliable way to perform upsampling).")
    if kwargs:
        warnings.warn(str(list(kwargs)) + " are now deprecated in `tensor.nnet.abstract_conv.conv2d` interface and "
                      "will be ignored.", stacklevel=2)
    if image_shape is not None:
        warnings.warn("The `image_shape` keyword argument to `tensor.nnet.conv2d` is deprecated, it has been "
                      "renamed to `input_shape`.", stacklevel=2)
        if input_shape is not None:
            raise ValueError("input_shape and image_shape should not be provided at the same time.")
        input_shape = image_shape
    op = AbstractConv2d(imshp=input_shape, kshp=filter_shape, border_mode=border_mode, subsample=subsample,
                        filter_flip=filter_flip, filter_dilation=filter_dilation, num_groups=num_groups,
                        unshared=unshared)
    return op(input, filters)


def _spatial(shape):
    """The last two entries of a shape as an integer vector variable."""
    if isinstance(shape, _core.Var):
        return shape[-2:]
    rows, cols = list(shape)[-2:]
    if all(isinstance(d, numbers.Integral) for d in (rows, cols)):
        return as_tensor_variable((int(rows), int(cols)))
    from .. import basic

    return wrap(_core.make_vector([basic.cast(as_tensor_variable(d), "int64") for d in (rows, cols)], "int64"))


def _known(shape):
    """The constant entries of a full 4-entry shape (None where symbolic)."""
    if shape is None or isinstance(shape, _core.Var) or len(shape) != 4:
        return None
    return [d if isinstance(d, numbers.Integral) or d is None else
            (int(d.constant_value()) if isinstance(d, _core.Var) and d.constant_value() is not None else None)
            for d in shape]


def conv2d_grad_wrt_inputs(output_grad, filters, input_shape, filter_shape=None, border_mode="valid",
                           subsample=(1, 1), filter_flip=True, filter_dilation=(1, 1), num_groups=1, unshared=False):
    """The gradient of `conv2d` with respect to its input, for the output
    gradient `output_grad` (`AbstractConv2d_gradInputs`). `input_shape` gives
    at least the image rows and columns (ints or scalar variables)."""
    op = AbstractConv2d_gradInputs(imshp=_known(input_shape), kshp=filter_shape, border_mode=border_mode,
                                   subsample=subsample, filter_flip=filter_flip, filter_dilation=filter_dilation,
                                   num_groups=num_groups, unshared=unshared)
    return op(filters, output_grad, _spatial(input_shape))


def conv2d_grad_wrt_weights(input, output_grad, filter_shape, input_shape=None, border_mode="valid",
                            subsample=(1, 1), filter_flip=True, filter_dilation=(1, 1), num_groups=1, unshared=False):
    """The gradient of `conv2d` with respect to its filters, for the output
    gradient `output_grad` (`AbstractConv2d_gradWeights`). `filter_shape`
    gives at least the filter rows and columns."""
    op = AbstractConv2d_gradWeights(imshp=input_shape, kshp=_known(filter_shape), border_mode=border_mode,
                                    subsample=subsample, filter_flip=filter_flip, filter_dilation=filter_dilation,
                                    num_groups=num_groups, unshared=unshared)
    return op(input, output_grad, _spatial(filter_shape))
