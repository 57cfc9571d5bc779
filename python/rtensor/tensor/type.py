"""`TensorType(dtype, broadcastable)`: the type of tensor variables."""

from __future__ import annotations

from .. import _core
from ..graph import wrap


class TensorType:
    """A tensor type; calling it makes a variable of that type."""

    def __init__(self, dtype, broadcastable):
        self.dtype = str(dtype)
        self.broadcastable = tuple(bool(b) for b in broadcastable)
        _core.type_str(self.dtype, list(self.broadcastable))  # validates the dtype

    @property
    def ndim(self):
        return len(self.broadcastable)

    def __call__(self, name=None):
        return wrap(_core.tensor_var(self.dtype, list(self.broadcastable), name))

    def __str__(self):
        return _core.type_str(self.dtype, list(self.broadcastable))

    __repr__ = __str__

    def __eq__(self, other):
        return type(other) is TensorType and (other.dtype, other.broadcastable) == (self.dtype, self.broadcastable)

    def __hash__(self):
        return hash((self.dtype, self.broadcastable))


class ScalarType:
    """The type of Theano's `scalar` variables (Subtensor indices)."""

    def __init__(self, dtype):
        self.dtype = dtype

    def __str__(self):
        return self.dtype

    __repr__ = __str__

    def __eq__(self, other):
        return type(other) is ScalarType and other.dtype == self.dtype

    def __hash__(self):
        return hash(("scalar", self.dtype))
