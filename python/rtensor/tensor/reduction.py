"""Reductions beyond sum/prod/mean/max/min: argmax and argmin (through
`MaxAndArgmax`), all/any, and var/std, which are compositions of mean and
elementwise ops as in Theano (so their gradients come from their parts)."""

from __future__ import annotations

import numbers

from .. import _core
from ..graph import wrap
from .var import _axes, _keepdims, as_tensor_variable


def max_and_argmax(a, axis=None, keepdims=False):
    """`[max, argmax]` over `axis` (all axes by default); argmax is int64 and
    counts in C order over the reduced axes."""
    a = as_tensor_variable(a)
    out, argout = _core.max_and_argmax(a, _axes(axis, a.ndim))
    out, argout = wrap(out), wrap(argout)
    if keepdims:
        out, argout = _keepdims(out, a, axis), _keepdims(argout, a, axis)
    return [out, argout]


def argmax(x, axis=None, keepdims=False):
    """Index of the maximum over `axis` (int64; the flattened index over all
    reduced axes when there are several)."""
    return max_and_argmax(x, axis, keepdims)[1]


def _negated(x):
    """A value whose argmax is `x`'s argmin."""
    if x.dtype == "bool":
        return ~x
    if x.dtype.startswith("uint"):
        import numpy as np

        top = np.array(np.iinfo(x.dtype).max, dtype=x.dtype)
        return wrap(_core.constant(top, None, x.dtype)) - x
    if x.dtype.startswith("int") or x.dtype.startswith("float"):
        return -x
    raise NotImplementedError("argmin of a %s tensor" % x.dtype)


def argmin(x, axis=None, keepdims=False):
    """Index of the minimum over `axis`: `argmax(-x)`."""
    x = as_tensor_variable(x)
    return argmax(_negated(x), axis=axis, keepdims=keepdims)


def _logical(kind, x, axis, keepdims):
    x = as_tensor_variable(x)
    out = wrap(_core.reduce_logical(kind, x, _axes(axis, x.ndim)))
    return _keepdims(out, x, axis) if keepdims else out


def all(x, axis=None, keepdims=False):
    """Whether every element over `axis` is non-zero (bool)."""
    return _logical("all", x, axis, keepdims)


def any(x, axis=None, keepdims=False):
    """Whether some element over `axis` is non-zero (bool)."""
    return _logical("any", x, axis, keepdims)


def _axis_list(axis, ndim):
    if axis is None:
        return list(range(ndim))
    if isinstance(axis, numbers.Integral):
        return [int(axis)]
    return [int(a) for a in axis]


def var(input, axis=None, ddof=0, keepdims=False, corrected=False):
    """Variance over `axis` by the two-pass algorithm: the mean of squared
    deviations, or their sum divided by `n - ddof` where `n` is the number of
    reduced elements; `corrected` subtracts the rounding-error term (the
    corrected two-pass algorithm).

    [rtensor] with `ddof` and several axes, `n` is the product of their
    lengths, as in NumPy (Theano divided by each `length - ddof` in turn)."""
    from .basic import constant, mean, shape, sum, true_div

    if isinstance(ddof, bool):
        raise ValueError("Parameter keepdims is now at index 3: (input, axis=None, ddof=0, keepdims=False, "
                         "corrected=False)")
    input = as_tensor_variable(input)
    axis = _axis_list(axis, input.ndim)
    centered = input - mean(input, axis, keepdims=True)
    two = constant(2, dtype=centered.dtype)
    if ddof != 0:
        lengths = shape(input)
        n = None
        for i in axis:
            n = lengths[i] if n is None else n * lengths[i]
        n = constant(1, dtype="int64") if n is None else n
    if ddof == 0:
        v = mean(centered ** two, axis, keepdims=keepdims)
    else:
        v = true_div(sum(centered ** two, axis=axis, keepdims=keepdims), n - ddof)
    if corrected:
        if ddof == 0:
            error = mean(centered, axis, keepdims=keepdims) ** 2
        else:
            error = true_div(sum(centered, axis=axis, keepdims=keepdims) ** 2, (n - ddof) * n)
        v = v - error
    v.name = "var"
    return v


def std(input, axis=None, ddof=0, keepdims=False, corrected=False):
    """Standard deviation: `sqrt(var(...))`."""
    from .basic import sqrt

    if isinstance(ddof, bool):
        raise ValueError("Parameter keepdims is now at index 3: (input, axis=None, ddof=0, keepdims=False, "
                         "corrected=False)")
    ret = sqrt(var(input, axis=axis, ddof=ddof, keepdims=keepdims, corrected=corrected))
    ret.name = "std"
    return ret


def norm(x, L, axis=None, keepdims=False):
    """The L-norm over `axis`: `sum(|x| ** L) ** (1 / L)`."""
    from .basic import abs_

    if L == 0 or L in (float("inf"), float("-inf")):
        raise NotImplementedError("norm with L=%r" % (L,))
    x = as_tensor_variable(x)
    y = (abs_(x) ** L).sum(axis=axis) ** (1.0 / L)
    return _keepdims(y, x, axis) if keepdims else y


__all__ = ["max_and_argmax", "argmax", "argmin", "all", "any", "var", "std"]
