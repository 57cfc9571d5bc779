"""`shared(value)`: a variable whose value lives in rtensor's memory and is
shared by every function that uses it."""

from __future__ import annotations

import numbers

from .. import _core
from ..graph import wrap
from ..tensor.var import TensorSharedVariable

SharedVariable = TensorSharedVariable


def shared(value, name=None, strict=False, allow_downcast=None, borrow=False, broadcastable=None, target="cpu", **kwargs):
    """A shared variable holding `value` (copied unless `borrow=True`).

    NumPy arrays keep their dtype; a Python int is int64, a Python float is
    float64 (also when floatX is float32), a NumPy scalar keeps its dtype.
    Lists, dicts and other objects are refused (Theano made them generic).
    """
    if target not in ("cpu", None):
        from .. import cuda

        raise ValueError("Unknown target %r: %s" % (target, "no CUDA device is available, so only 'cpu' exists"
                                                    if not cuda.is_available() else "no such context"))
    is_array = hasattr(value, "__array_interface__") or hasattr(value, "dtype")
    if not (is_array or isinstance(value, (numbers.Number, bool))):
        raise TypeError("No suitable SharedVariable constructor could be found. Are you sure all kwargs are supported? "
                        "rtensor makes shared variables of arrays and numbers only, got %r of type %s"
                        % (value, type(value).__name__))
    if kwargs:
        raise TypeError("shared() got unexpected keyword arguments: %s" % ", ".join(sorted(kwargs)))
    handle = _core.shared(value, name, bool(strict), allow_downcast, bool(borrow),
                          None if broadcastable is None else [bool(b) for b in broadcastable])
    return wrap(handle)
