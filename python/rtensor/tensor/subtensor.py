"""Indexing functions of `theano.tensor.subtensor`: `set_subtensor`,
`inc_subtensor`, `take` and the advanced-indexing helpers. The Rust core
decides which op an indexed expression needs."""

from __future__ import annotations

from .. import _core
from ..graph import wrap
from .var import as_tensor_variable


def inc_subtensor(x, y, inplace=False, set_instead_of_inc=False, tolerate_inplace_aliasing=False):
    """A copy of the tensor that `x` indexes, with `y` added at `x`'s
    position (`x` must be the result of indexing, e.g. `a[2:, ivec]`).
    Repeated indices accumulate. The original tensor is not modified;
    `inplace` and `tolerate_inplace_aliasing` are accepted for Theano
    compatibility (rewrites decide about in-place work)."""
    x = as_tensor_variable(x)
    y = as_tensor_variable(y)
    return wrap(_core.inc_subtensor(x, y, bool(set_instead_of_inc)))


def set_subtensor(x, y, inplace=False, tolerate_inplace_aliasing=False):
    """A copy of the tensor that `x` indexes, with `y` written at `x`'s
    position (with repeated indices the last write wins)."""
    return inc_subtensor(x, y, inplace, set_instead_of_inc=True,
                         tolerate_inplace_aliasing=tolerate_inplace_aliasing)


def advanced_subtensor1(x, ilist):
    """`x[ilist]` for an integer vector `ilist` (rows of `x`)."""
    return wrap(_core.advanced_subtensor1(as_tensor_variable(x), as_tensor_variable(ilist)))


def advanced_inc_subtensor1(x, y, ilist):
    """`inc_subtensor(x[ilist], y)`."""
    return inc_subtensor(advanced_subtensor1(x, ilist), y)


def advanced_set_subtensor1(x, y, ilist):
    """`set_subtensor(x[ilist], y)`."""
    return set_subtensor(advanced_subtensor1(x, ilist), y)


def take(a, indices, axis=None, mode="raise"):
    """Elements of `a` at `indices` along `axis` (of the flattened `a` when
    `axis` is None), like `numpy.take`."""
    if mode != "raise":
        raise NotImplementedError("take(mode=%r): only mode='raise' is supported" % (mode,))
    a = as_tensor_variable(a)
    indices = as_tensor_variable(indices)
    if axis is None:
        a = a.flatten()
        axis = 0
    return wrap(_core.take(a, indices, int(axis)))


__all__ = ["advanced_inc_subtensor1", "advanced_set_subtensor1", "advanced_subtensor1", "inc_subtensor",
           "set_subtensor", "take"]
