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


def _is_full_slice(a):
    return isinstance(a, slice) and a.start is None and a.stop is None and a.step is None


def _index_value(a):
    """An index entry as rtensor sees it: slices, None, Ellipsis and integers
    as they are; arrays (lists, ndarrays, int or bool tensors of one or more
    dimensions) as tensor variables."""
    import numpy as np

    if a is None or a is Ellipsis or isinstance(a, slice):
        return a
    if isinstance(a, (bool, np.bool_)):
        raise TypeError("TensorType does not support Python bools for indexing, such as tensor[True]. "
                        "Use a boolean array as a mask instead.")
    if isinstance(a, _core.Var):
        return a if a.ndim > 0 or a.dtype == "bool" else a
    if isinstance(a, (list, tuple)):
        if _contains_bool(a):
            raise TypeError("TensorType does not support Python bools for indexing, such as tensor[[True, False]]. "
                            "To use a boolean mask, convert the mask to a NumPy array first, e.g., "
                            "tensor[numpy.array([True, False])].")
        arr = np.asarray(a, dtype="int64") if len(a) == 0 else np.asarray(a)
        return as_tensor_variable(arr if arr.dtype.kind in "iub" else a)
    if isinstance(a, np.ndarray):
        if a.ndim == 0 and a.dtype.kind in "iu":
            return int(a)
        return as_tensor_variable(a.astype("int64") if a.size == 0 else a)
    return a


def _contains_bool(a):
    import numpy as np

    for e in a:
        if isinstance(e, (bool, np.bool_)):
            return True
        if isinstance(e, (list, tuple)) and _contains_bool(e):
            return True
    return False


def _is_array_index(a):
    return isinstance(a, _core.Var) and (a.ndim > 0 or a.dtype == "bool")


def _scalar_index_array(a):
    """A scalar index among advanced ones: a 0-d integer tensor."""
    if isinstance(a, _core.Var):
        if a.is_scalar_type or a.ndim != 0 or not a.dtype.startswith(("int", "uint")):
            raise TypeError("Expected an integer scalar or an index array, got %s of type %s" % (a, a.type))
        return a
    if isinstance(a, numbers.Integral):
        return wrap(_core.constant(int(a), None, "int64"))
    raise TypeError("Expected an integer, a slice or an index array as index, got %r" % (a,))


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
    def __getitem__(self, args):
        if isinstance(args, list) and any(isinstance(a, slice) for a in args):
            args = tuple(args)
        elif not isinstance(args, tuple):
            args = (args,)
        args = [_index_value(a) for a in args]
        # Count the dimensions the index covers; expand one Ellipsis.
        ellipses = [i for i, a in enumerate(args) if a is Ellipsis]
        covered = 0
        for a in args:
            if a is None or a is Ellipsis:
                continue
            covered += a.ndim if (_is_array_index(a) and a.dtype == "bool") else 1
        if covered > self.ndim:
            raise IndexError("too many indices for array: %d indices for a %d-dimensional %s" % (covered, self.ndim, self.type))
        if len(ellipses) > 1:
            raise IndexError("an index can only have a single Ellipsis (`...`)")
        if ellipses:
            i = ellipses[0]
            args[i:i + 1] = [slice(None)] * (self.ndim - covered)

        arrays = [i for i, a in enumerate(args) if _is_array_index(a)]
        if arrays:
            if any(a is None for a in args):
                raise NotImplementedError("None (a new axis) combined with advanced indexing is not supported")
            if len(arrays) == 1 and args[arrays[0]].dtype != "bool" and all(
                    _is_full_slice(a) for i, a in enumerate(args) if i != arrays[0]):
                return wrap(_core.take(self, args[arrays[0]], arrays[0]))
            entries = []
            for a in args:
                if isinstance(a, slice):
                    entries.append(("s", a.start, a.stop, a.step))
                elif _is_array_index(a):
                    entries.append(("a", a))
                else:
                    entries.append(("a", _scalar_index_array(a)))
            return wrap(_core.advanced_subtensor(self, entries))

        if any(a is None for a in args):
            # A new axis: dimshuffle first, then index the view (Theano's order).
            pattern, k, rest = [], 0, []
            for a in args:
                if a is None:
                    pattern.append("x")
                    rest.append(slice(None))
                else:
                    pattern.append(k)
                    k += 1
                    rest.append(a)
            pattern.extend(range(k, self.ndim))
            view = self.dimshuffle(*pattern)
            if all(_is_full_slice(a) for a in rest):
                return view
            return view[tuple(rest)]
        entries = [("s", a.start, a.stop, a.step) if isinstance(a, slice) else ("i", a) for a in args]
        return wrap(_core.subtensor(self, entries))

    def take(self, indices, axis=None, mode="raise"):
        from . import subtensor

        return subtensor.take(self, indices, axis, mode)

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

    def argmax(self, axis=None, keepdims=False):
        from . import reduction

        return reduction.argmax(self, axis=axis, keepdims=keepdims)

    def argmin(self, axis=None, keepdims=False):
        from . import reduction

        return reduction.argmin(self, axis=axis, keepdims=keepdims)

    def all(self, axis=None, keepdims=False):
        from . import reduction

        return reduction.all(self, axis=axis, keepdims=keepdims)

    def any(self, axis=None, keepdims=False):
        from . import reduction

        return reduction.any(self, axis=axis, keepdims=keepdims)

    def var(self, axis=None, ddof=0, keepdims=False, corrected=False):
        from . import reduction

        return reduction.var(self, axis=axis, ddof=ddof, keepdims=keepdims, corrected=corrected)

    def std(self, axis=None, ddof=0, keepdims=False, corrected=False):
        from . import reduction

        return reduction.std(self, axis=axis, ddof=ddof, keepdims=keepdims, corrected=corrected)

    def norm(self, L, axis=None, keepdims=False):
        from . import reduction

        return reduction.norm(self, L, axis=axis, keepdims=keepdims)

    def nonzero(self, return_matrix=False):
        from . import structure

        return structure.nonzero(self, return_matrix=return_matrix)

    def repeat(self, repeats, axis=None):
        from . import structure

        return structure.repeat(self, repeats, axis=axis)

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
