"""Tensor variables: Theano's operator overloading and methods. Each
operation makes one node in the Rust core; nothing is computed here."""

from __future__ import annotations

import numbers

from .. import _core
from ..graph import Variable, wrap


def as_tensor_variable(x, name=None, ndim=None):
    """`x` as a tensor variable: variables as they are, data as constants."""
    if isinstance(x, _core.Var):
        v = x if isinstance(x, Variable) else wrap(x)
    else:
        v = wrap(_core.constant(x, name))
    if ndim is not None and v.ndim != ndim:
        raise ValueError("TensorType could not be cast to have %d dimensions (got %d)" % (ndim, v.ndim))
    return v


def _elemwise(op, *args):
    return wrap(_core.elemwise(op, [as_tensor_variable(a) for a in args]))


def _axes(axis, ndim):
    if axis is None:
        return None
    if isinstance(axis, numbers.Integral):
        return [int(axis)]
    return [int(a) for a in axis]


def _keepdims(out, x, axis):
    """Re-inserts the reduced axes as broadcastable ones."""
    axes = range(x.ndim) if axis is None else [a % x.ndim for a in _axes(axis, x.ndim)]
    pattern, k = [], 0
    for d in range(x.ndim):
        if d in axes:
            pattern.append("x")
        else:
            pattern.append(k)
            k += 1
    return out.dimshuffle(*pattern)


class _TensorMethods:
    """Arithmetic, comparisons, indexing and the methods of Theano's tensors."""

    # arithmetic -----------------------------------------------------------
    def __add__(self, other):
        return _elemwise("add", self, other)

    def __radd__(self, other):
        return _elemwise("add", other, self)

    def __sub__(self, other):
        return _elemwise("sub", self, other)

    def __rsub__(self, other):
        return _elemwise("sub", other, self)

    def __mul__(self, other):
        return _elemwise("mul", self, other)

    def __rmul__(self, other):
        return _elemwise("mul", other, self)

    def __truediv__(self, other):
        return _elemwise("true_div", self, other)

    def __rtruediv__(self, other):
        return _elemwise("true_div", other, self)

    def __floordiv__(self, other):
        return _elemwise("int_div", self, other)

    def __rfloordiv__(self, other):
        return _elemwise("int_div", other, self)

    def __mod__(self, other):
        return _elemwise("mod", self, other)

    def __rmod__(self, other):
        return _elemwise("mod", other, self)

    def __pow__(self, other):
        return _elemwise("pow", self, other)

    def __rpow__(self, other):
        return _elemwise("pow", other, self)

    def __neg__(self):
        return _elemwise("neg", self)

    def __divmod__(self, other):
        return _elemwise("int_div", self, other), _elemwise("mod", self, other)

    def __rdivmod__(self, other):
        return _elemwise("int_div", other, self), _elemwise("mod", other, self)

    def __pos__(self):
        return self

    def __abs__(self):
        return _elemwise("abs_", self)

    def __invert__(self):
        return _elemwise("invert", self)

    def __and__(self, other):
        return _elemwise("and_", self, other)

    __rand__ = __and__

    def __or__(self, other):
        return _elemwise("or_", self, other)

    __ror__ = __or__

    def __xor__(self, other):
        return _elemwise("xor", self, other)

    __rxor__ = __xor__

    # comparisons (== stays identity, see Variable) -------------------------
    def __lt__(self, other):
        return _elemwise("lt", self, other)

    def __le__(self, other):
        return _elemwise("le", self, other)

    def __gt__(self, other):
        return _elemwise("gt", self, other)

    def __ge__(self, other):
        return _elemwise("ge", self, other)

    # indexing -------------------------------------------------------------
    def __getitem__(self, key):
        if not isinstance(key, tuple):
            key = (key,)
        entries = []
        new_axes = []
        for item in key:
            if item is None:
                new_axes.append(len(entries))
                entries.append(None)
            elif isinstance(item, slice):
                entries.append(("s", item.start, item.stop, item.step))
            elif item is Ellipsis:
                raise NotImplementedError("indexing with Ellipsis is not supported yet")
            elif isinstance(item, _core.Var) and item.ndim > 0:
                raise NotImplementedError("advanced indexing (an index of %d dimensions) is not supported yet" % item.ndim)
            else:
                entries.append(("i", item))
        basic = [e for e in entries if e is not None]
        out = wrap(_core.subtensor(self, basic)) if basic else self
        if new_axes:
            # Each None adds a broadcastable axis where it stands.
            pattern, k, pos = [], 0, 0
            for e in entries:
                if e is None:
                    pattern.append("x")
                elif e[0] == "s":
                    pattern.append(k)
                    k += 1
            pattern.extend(range(k, out.ndim))
            out = out.dimshuffle(*pattern)
        return out

    # methods --------------------------------------------------------------
    @property
    def shape(self):
        return wrap(_core.shape(self))

    @property
    def size(self):
        return self.shape.prod() if hasattr(self.shape, "prod") else None

    @property
    def T(self):
        return self.transpose()

    def transpose(self, *axes):
        if not axes:
            axes = tuple(range(self.ndim - 1, -1, -1))
        elif len(axes) == 1 and isinstance(axes[0], (list, tuple)):
            axes = tuple(axes[0])
        return wrap(_core.dimshuffle(self, [int(a) for a in axes], True))

    def dimshuffle(self, *pattern):
        if len(pattern) == 1 and isinstance(pattern[0], (list, tuple)):
            pattern = tuple(pattern[0])
        return wrap(_core.dimshuffle(self, [-1 if p == "x" else int(p) for p in pattern], True))

    def reshape(self, shape, ndim=None):
        from . import basic

        return basic.reshape(self, shape, ndim)

    def flatten(self, ndim=1, outdim=None):
        if outdim is not None:
            ndim = outdim
        return wrap(_core.flatten(self, int(ndim)))

    def round(self, mode=None):
        from . import basic

        return basic.round(self, mode)

    def clip(self, a_min, a_max):
        from . import basic

        return basic.clip(self, a_min, a_max)

    def astype(self, dtype):
        from . import basic

        return basic.cast(self, dtype)

    def sum(self, axis=None, dtype=None, keepdims=False, acc_dtype=None):
        from . import basic

        return basic.sum(self, axis=axis, dtype=dtype, keepdims=keepdims)

    def mean(self, axis=None, dtype=None, keepdims=False, acc_dtype=None):
        from . import basic

        return basic.mean(self, axis=axis, dtype=dtype, keepdims=keepdims)

    def prod(self, axis=None, dtype=None, keepdims=False, acc_dtype=None):
        from . import basic

        return basic.prod(self, axis=axis, dtype=dtype, keepdims=keepdims)

    def max(self, axis=None, keepdims=False):
        from . import basic

        return basic.max(self, axis=axis, keepdims=keepdims)

    def min(self, axis=None, keepdims=False):
        from . import basic

        return basic.min(self, axis=axis, keepdims=keepdims)

    def dot(self, other):
        from . import basic

        return basic.dot(self, other)

    def __matmul__(self, other):
        return self.dot(other)

    def transfer(self, target):
        """Moves the value to `target`: 'cpu' is the host (where it already is)."""
        if target == "cpu":
            return self
        from .. import cuda

        raise ValueError("Can't transfer to target %s%s" % (target, "" if cuda.is_available() else " (no CUDA device is available)"))

    def eval(self, inputs_to_values=None):
        """Compiles (once per set of inputs) and evaluates this variable."""
        from ..compile.function import function

        inputs_to_values = dict(inputs_to_values or {})
        keys = list(inputs_to_values)
        cache = self.__dict__.setdefault("_fn_cache", {})
        key = tuple(k.id for k in keys)
        if key not in cache:
            cache[key] = function(keys, self, on_unused_input="ignore")
        return cache[key](*[inputs_to_values[k] for k in keys])


class TensorVariable(_TensorMethods, Variable):
    """A symbolic tensor."""


class TensorConstant(TensorVariable):
    """A constant tensor."""

    @property
    def data(self):
        return self.constant_value()

    value = data

    @property
    def signature(self):
        return (self.type, self.data.tobytes())


class TensorSharedVariable(TensorVariable):
    """A tensor held in a shared container: `get_value`/`set_value` read and
    replace it, and every function using it sees the same value."""

    @property
    def container(self):
        return self


class ScalarVariable(_TensorMethods, Variable):
    """A variable of Theano's scalar module (Subtensor indices)."""
