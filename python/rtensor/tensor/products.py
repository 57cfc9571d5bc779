"""Tensor products: `outer`, `tensordot`, `batched_dot` and
`batched_tensordot`. As in Theano, tensordot is built from DimShuffle,
Reshape and a matrix product (dot or BatchedDot), so its gradient comes
from those ops."""

from __future__ import annotations

import numbers

from .. import _core
from ..graph import wrap
from .structure import patternbroadcast
from .var import as_tensor_variable


def outer(x, y):
    """The outer product of two vectors (other inputs are flattened first)."""
    from .basic import dot

    x, y = as_tensor_variable(x), as_tensor_variable(y)
    if x.ndim != 1:
        x = x.flatten()
    if y.ndim != 1:
        y = y.flatten()
    return dot(x.dimshuffle(0, "x"), y.dimshuffle("x", 0))


def _product(terms):
    """The product of symbolic lengths (1 when there are none)."""
    out = 1
    for t in terms:
        out = t if isinstance(out, numbers.Integral) and out == 1 else out * t
    return out


def _as_axis_list(axes):
    if isinstance(axes, numbers.Integral):
        return [int(axes)]
    return [int(a) for a in axes]


def _tensordot_as_dot(a, b, axes, dot, batched):
    a, b = as_tensor_variable(a), as_tensor_variable(b)
    if isinstance(axes, numbers.Integral):
        n = int(axes)
        if n < 0:
            raise ValueError("axes must be a non-negative number of axes, got %d" % n)
        for name, operand in (("a", a), ("b", b)):
            if n > operand.ndim:
                raise ValueError("axes can not be larger than the dimension of %s (%s.ndim=%i, axes=%i)"
                                 % (name, name, operand.ndim, n))
            if batched and n == operand.ndim:
                raise ValueError("axes to sum over must not include the batch axis of %s (%s.ndim=%i, axes=%i)"
                                 % (name, name, operand.ndim, n))
        batch = 1 if batched else 0
        a_out = list(range(batch, a.ndim - n))
        b_out = list(range(batch + n, b.ndim))
        kept = list(range(batch))
        out_shape = [a.shape[i] for i in kept + a_out] + [b.shape[i] for i in b_out]
        out_bcast = [a.broadcastable[i] for i in kept + a_out] + [b.broadcastable[i] for i in b_out]
        a_shape = [_product(a.shape[i] for i in a_out), _product(a.shape[i] for i in range(a.ndim - n, a.ndim))]
        b_shape = [_product(b.shape[i] for i in range(batch, batch + n)), _product(b.shape[i] for i in b_out)]
        if batched:
            a_shape.insert(0, a.shape[0])
            b_shape.insert(0, b.shape[0])
        out = dot(a.reshape(a_shape), b.reshape(b_shape)).reshape(out_shape, len(out_shape))
        return patternbroadcast(out, out_bcast)
    if isinstance(axes, str) or len(axes) != 2:
        raise ValueError("Axes should be an integer or a list/tuple of len 2 (%s was provided)" % (axes,))
    axes = [_as_axis_list(ax) for ax in axes]
    if len(axes[0]) != len(axes[1]):
        raise ValueError("Axes elements must have the same length.")
    for i, (name, operand) in enumerate((("a", a), ("b", b))):
        if len(axes[i]) > operand.ndim:
            raise ValueError("axes[%i] should be array_like with length less than the dimensions of %s "
                             "(%s.ndim=%i, len(axes[%i])=%i)." % (i, name, name, operand.ndim, i, len(axes[i])))
        for k, ax in enumerate(axes[i]):
            if not -operand.ndim <= ax < operand.ndim:
                raise ValueError("axes[%i] contains dimension %i, out of range for %s.ndim=%i"
                                 % (i, ax, name, operand.ndim))
            axes[i][k] = ax % operand.ndim
        if len(set(axes[i])) != len(axes[i]):
            raise ValueError("axes[%i] repeats a dimension: %s" % (i, axes[i]))
        if batched and 0 in axes[i]:
            raise ValueError("axes to sum over must not contain the batch axis (axes[%i]=%s)" % (i, axes[i]))
    batch_axes = [0] if batched else []
    others = [[d for d in range(operand.ndim) if d not in axes[i] and d not in batch_axes]
              for i, operand in enumerate((a, b))]
    a = a.dimshuffle(*(batch_axes + others[0] + axes[0]))
    b = b.dimshuffle(*(batch_axes + axes[1] + others[1]))
    return _tensordot_as_dot(a, b, len(axes[0]), dot=dot, batched=batched)


def tensordot(a, b, axes=2):
    """`numpy.tensordot`: sums the products over the last `axes` axes of `a`
    and the first of `b`, or over the axes paired in `axes=[a_axes, b_axes]`.
    The lengths of paired axes are not checked at run time beyond what the
    underlying matrix product checks."""
    from .basic import dot

    return _tensordot_as_dot(a, b, axes, dot=dot, batched=False)


def batched_dot(a, b):
    """`out[i] = dot(a[i], b[i])`: elementwise for a batch of vectors, the
    `BatchedDot` op for 2-d/3-d operands, `batched_tensordot` beyond."""
    a, b = as_tensor_variable(a), as_tensor_variable(b)
    if a.ndim == 0:
        raise TypeError("a must have at least one (batch) axis")
    if b.ndim == 0:
        raise TypeError("b must have at least one (batch) axis")
    if a.ndim == 1:
        return a.dimshuffle(*([0] + ["x"] * (b.ndim - 1))) * b
    if b.ndim == 1:
        return a * b.dimshuffle(*([0] + ["x"] * (a.ndim - 1)))
    if a.ndim > 3 or b.ndim > 3:
        return batched_tensordot(a, b, [[a.ndim - 1], [max(1, b.ndim - 2)]])
    return wrap(_core.batched_dot(a, b))


def batched_tensordot(x, y, axes=2):
    """`tensordot` for each pair `x[i]`, `y[i]` along the first (batch) axis."""
    return _tensordot_as_dot(x, y, axes, dot=batched_dot, batched=True)


__all__ = ["outer", "tensordot", "batched_dot", "batched_tensordot"]
