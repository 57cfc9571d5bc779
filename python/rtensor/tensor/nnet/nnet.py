"""Softmax, log-softmax, cross-entropies and rectifiers (Theano's
`theano.tensor.nnet.nnet`). The ops are built by the Rust core; the
compositions (`binary_crossentropy`, `relu`, one-hot `categorical_crossentropy`)
are graphs of elementwise ops and reductions, so they differentiate through
those."""

import warnings

from ... import _core
from ...graph import wrap
from .. import basic
from ..var import as_tensor_variable

__all__ = ["softmax", "logsoftmax", "log_softmax", "softmax_op", "softmax_with_bias", "softmax_grad",
           "logsoftmax_grad", "crossentropy_categorical_1hot", "crossentropy_categorical_1hot_grad",
           "crossentropy_softmax_argmax_1hot_with_bias", "crossentropy_softmax_1hot_with_bias_dx",
           "categorical_crossentropy", "binary_crossentropy", "relu"]


def _op(name, *inputs):
    outs = _core.nnet_op(name, [as_tensor_variable(i) for i in inputs])
    return wrap(outs[0]) if len(outs) == 1 else tuple(wrap(o) for o in outs)


def _softmax(c, log):
    c = as_tensor_variable(c)
    if c.ndim > 0 and c.broadcastable[-1]:
        warnings.warn("The softmax is applied on a dimension of shape 1, which does not have a semantic meaning.",
                      stacklevel=3)
    out, padded = _core.softmax(c, log)
    if padded:
        warnings.warn("DEPRECATION: If x is a vector, Softmax will not automatically pad x anymore in next releases. "
                      "If you need it, please do it manually. The vector case is gonna be supported soon and the "
                      "output will be a vector.", stacklevel=3)
    return wrap(out)


def softmax(c):
    """Row-wise softmax of a matrix of floats (`Softmax`); a vector is
    treated as one row and gives a 1×n matrix, with a deprecation warning."""
    return _softmax(c, False)


softmax_op = softmax


def logsoftmax(c):
    """Row-wise log-softmax, computed stably (`LogSoftmax`)."""
    return _softmax(c, True)


log_softmax = logsoftmax


def softmax_with_bias(x, b):
    """`softmax(x + b)` for a matrix `x` and a vector `b` over its columns (`SoftmaxWithBias`)."""
    return _op("SoftmaxWithBias", x, b)


def softmax_grad(dy, sm):
    """The input gradient of a softmax whose output is `sm`, for the output
    gradient `dy`: `(dy - sum(dy * sm, axis=1)) * sm` (`SoftmaxGrad`)."""
    return _op("SoftmaxGrad", dy, sm)


def logsoftmax_grad(dy, lsm):
    """The input gradient of a log-softmax whose output is `lsm`:
    `dy - exp(lsm) * sum(dy, axis=1)` (`LogSoftmaxGrad`)."""
    return _op("LogSoftmaxGrad", dy, lsm)


def crossentropy_categorical_1hot(coding_dist, true_one_of_n):
    """`-log(coding_dist[i, true_one_of_n[i]])` for each row (`CrossentropyCategorical1Hot`)."""
    return _op("CrossentropyCategorical1Hot", coding_dist, true_one_of_n)


def crossentropy_categorical_1hot_grad(g_y, coding_dist, true_one_of_n):
    """The gradient of `crossentropy_categorical_1hot` with respect to
    `coding_dist`: zeros except `-g_y[i] / coding_dist[i, y[i]]`."""
    return _op("CrossentropyCategorical1HotGrad", g_y, coding_dist, true_one_of_n)


def crossentropy_softmax_argmax_1hot_with_bias(x, b, y_idx):
    """`(nll, softmax(x + b), argmax(x + b, axis=1))` in one pass, with
    `nll[i] = -log(softmax(x + b)[i, y_idx[i]])`."""
    return _op("CrossentropySoftmaxArgmax1HotWithBias", x, b, y_idx)


def crossentropy_softmax_1hot_with_bias_dx(dy, sm, y_idx):
    """The gradient of that `nll` with respect to `x`: `dy[i] * (sm[i] - onehot(y_idx[i]))`."""
    return _op("CrossentropySoftmax1HotWithBiasDx", dy, sm, y_idx)


def categorical_crossentropy(coding_dist, true_dist):
    """The cross-entropy of each row of `coding_dist` against `true_dist`: a
    matrix of the same shape (`-sum(true_dist * log(coding_dist), axis=-1)`)
    or a vector of integer class labels (`CrossentropyCategorical1Hot`)."""
    coding_dist = as_tensor_variable(coding_dist)
    true_dist = as_tensor_variable(true_dist)
    if true_dist.ndim == coding_dist.ndim:
        return -basic.sum(true_dist * basic.log(coding_dist), axis=coding_dist.ndim - 1)
    if true_dist.ndim == coding_dist.ndim - 1:
        return crossentropy_categorical_1hot(coding_dist, true_dist)
    raise TypeError("rank mismatch between coding and true distributions")


def binary_crossentropy(output, target):
    """Element-wise `-(target * log(output) + (1 - target) * log(1 - output))`."""
    output = as_tensor_variable(output)
    target = as_tensor_variable(target)
    return -(target * basic.log(output) + (1.0 - target) * basic.log(1.0 - output))


def relu(x, alpha=0):
    """Rectified linear unit: `x` where positive, `alpha * x` elsewhere
    (built as Theano does, from `abs`, so its gradient is defined at 0)."""
    x = as_tensor_variable(x)
    if isinstance(alpha, (int, float)) and alpha == 0:
        return 0.5 * (x + abs(x))
    alpha = as_tensor_variable(alpha)
    f1 = 0.5 * (1 + alpha)
    f2 = 0.5 * (1 - alpha)
    return f1 * x + f2 * abs(x)
