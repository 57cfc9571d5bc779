"""Building and rearranging tensors (Theano's `theano.tensor` names): joins
and splits, the alloc family, ranges, repeats and tiles, padding and
broadcast patterns. Each function makes nodes in the Rust core; the ones
Theano composes from other ops (stack, tile, repeat by a scalar, zeros...)
are composed the same way here, so their gradients come from their parts."""

from __future__ import annotations

import numbers
import warnings

from .. import _core
from ..configparser import config
from ..graph import wrap
from .var import as_tensor_variable

# -- joining and splitting ----------------------------------------------------


def join(axis, *tensors_list):
    """Concatenates tensors along `axis` (an int or an integer scalar variable).

    One tensor is returned as it is."""
    if not tensors_list:
        raise ValueError("Cannot join an empty list of tensors")
    return wrap(_core.join(as_tensor_variable(axis), [as_tensor_variable(t) for t in tensors_list]))


def concatenate(tensor_list, axis=0):
    """`join(axis, *tensor_list)` with NumPy's signature."""
    if not isinstance(tensor_list, (tuple, list)):
        raise TypeError(
            "The 'tensors' argument must be either a tuple or a list, make sure you did not forget () or [] "
            "around arguments of concatenate.", tensor_list)
    return join(axis, *tensor_list)


def stack(*tensors, **kwargs):
    """Stacks tensors along a new axis (`stack(tensors, axis=0)`).

    0-d tensors are gathered with `MakeVector`; others are padded with a
    broadcastable axis at `axis` and joined. `stack(a, b, c)` is the
    deprecated form."""
    if not tensors and not kwargs:
        raise ValueError("rtensor.tensor.stack(tensors, axis) must have at least one parameter")
    if not kwargs and not isinstance(tensors[0], (list, tuple)):
        warnings.warn("stack(*tensors) interface is deprecated, use stack(tensors, axis=0) instead.",
                      DeprecationWarning, stacklevel=2)
        axis = 0
    elif "tensors" in kwargs:
        tensors = kwargs["tensors"]
        axis = kwargs.get("axis", 0)
    else:
        axis = tensors[1] if len(tensors) == 2 else kwargs.get("axis", 0)
        tensors = tensors[0]
    if len(tensors) == 0:
        raise ValueError("tensors is empty. You should at least provide one tensor to "
                         "rtensor.tensor.stack(tensors, axis).")
    tensors = [as_tensor_variable(t) for t in tensors]
    if all(t.ndim == 0 for t in tensors):
        dtype = _core.upcast(*[t.dtype for t in tensors])
        return wrap(_core.make_vector(tensors, dtype))
    return join(axis, *[shape_padaxis(t, axis) for t in tensors])


def split(x, splits_size, n_splits, axis=0):
    """Splits `x` along `axis` into `n_splits` pieces of the lengths in
    `splits_size` (an integer vector); returns the list of pieces."""
    outs = _core.split(as_tensor_variable(x), as_tensor_variable(splits_size), int(n_splits),
                       as_tensor_variable(axis))
    outs = [wrap(o) for o in outs]
    return outs[0] if len(outs) == 1 else outs


def horizontal_stack(*args):
    """Joins matrices along their second axis."""
    if len(args) < 2:
        raise ValueError("horizontal_stack needs at least two matrices")
    args = [as_tensor_variable(a) for a in args]
    if any(a.ndim != 2 for a in args):
        raise TypeError("horizontal_stack joins matrices, got %s" % ", ".join(str(a.type) for a in args))
    return concatenate(args, axis=1)


def vertical_stack(*args):
    """Joins matrices along their first axis."""
    if len(args) < 2:
        raise ValueError("vertical_stack needs at least two matrices")
    args = [as_tensor_variable(a) for a in args]
    if any(a.ndim != 2 for a in args):
        raise TypeError("vertical_stack joins matrices, got %s" % ", ".join(str(a.type) for a in args))
    return concatenate(args, axis=0)


# -- allocating ---------------------------------------------------------------


def alloc(value, *shape):
    """A new tensor of shape `shape` (integer scalars, symbolic or not)
    filled by broadcasting `value`."""
    return wrap(_core.alloc(as_tensor_variable(value), [as_tensor_variable(s) for s in shape]))


def fill(model, value):
    """`value` broadcast to the shape of `model` (`Elemwise{second}`), in
    `value`'s dtype."""
    return wrap(_core.fill(as_tensor_variable(model), as_tensor_variable(value)))


second = fill


def _dtype_name(dtype, default):
    if dtype is None:
        return default
    if dtype == "floatX":
        return config.floatX
    import numpy as np

    return str(np.dtype(dtype))


def zeros_like(model, dtype=None, opt=False):
    """Zeros of the shape of `model`, in `model`'s dtype unless given."""
    model = as_tensor_variable(model)
    return fill(model, _constant_of(0.0, _dtype_name(dtype, model.dtype)))


def ones_like(model, dtype=None, opt=False):
    """Ones of the shape of `model`, in `model`'s dtype unless given."""
    model = as_tensor_variable(model)
    return fill(model, _constant_of(1.0, _dtype_name(dtype, model.dtype)))


def _constant_of(value, dtype):
    """A 0-d constant of `dtype`."""
    return wrap(_core.constant(value, None, dtype))


def _shape_entries(shape):
    """The entries of a shape given as an int, a list/tuple, or a symbolic
    vector whose length is known (a constant, `x.shape`, a MakeVector)."""
    if isinstance(shape, _core.Var):
        v = as_tensor_variable(shape)
        if v.ndim == 0:
            return [v]
        if v.ndim != 1:
            raise TypeError("a shape must be a vector, got %s" % v.type)
        return [v[i] for i in range(_vector_length(v))]
    if isinstance(shape, (list, tuple)):
        return list(shape)
    return [shape]


def _vector_length(v):
    if v.broadcastable[0]:
        return 1
    data = v.constant_value()
    if data is not None:
        return len(data)
    info = v.owner_info()
    if info is not None:
        name, inputs, _, _ = info
        if name == "Shape":
            return inputs[0].ndim
        if name.startswith("MakeVector"):
            return len(inputs)
    raise ValueError("length not known: %s" % v)


def zeros(shape, dtype=None):
    """`alloc(0, *shape)` in `dtype` (floatX by default)."""
    return alloc(_constant_of(0, _dtype_name(dtype, config.floatX)), *_shape_entries(shape))


def ones(shape, dtype=None):
    """`alloc(1, *shape)` in `dtype` (floatX by default)."""
    return alloc(_constant_of(1, _dtype_name(dtype, config.floatX)), *_shape_entries(shape))


def arange(start, stop=None, step=1, dtype=None):
    """`numpy.arange`: integer arguments give int64, otherwise the upcast of
    the arguments (Theano's rules, see `cast_policy`)."""
    if stop is None:
        start, stop = 0, start
    start, stop, step = (as_tensor_variable(a) for a in (start, stop, step))
    return wrap(_core.arange(start, stop, step, None if dtype is None else _dtype_name(dtype, None)))


def eye(n, m=None, k=0, dtype=None):
    """A matrix with ones on diagonal `k` (floatX by default)."""
    if m is None:
        m = n
    n, m, k = (as_tensor_variable(a) for a in (n, m, k))
    return wrap(_core.eye(n, m, k, _dtype_name(dtype, config.floatX)))


def identity_like(x):
    """An identity matrix of `x`'s shape and dtype."""
    x = as_tensor_variable(x)
    return eye(x.shape[0], x.shape[1], k=0, dtype=x.dtype)


# -- repeating ------------------------------------------------------------


def repeat(x, repeats, axis=None):
    """`numpy.repeat`: each element along `axis` (the flattened `x` when
    None) repeated `repeats` times (a scalar or one count per element)."""
    x = as_tensor_variable(x)
    repeats = as_tensor_variable(repeats)
    if repeats.ndim > 1:
        raise ValueError("The dimension of repeats should not exceed 1.")
    if repeats.ndim == 1 and not repeats.broadcastable[0]:
        return wrap(_core.repeat(x, repeats, None if axis is None else int(axis)))
    if repeats.ndim == 1:
        repeats = repeats[0]
    if axis is None:
        axis = 0
        x = x.flatten()
    else:
        axis = int(axis)
        if not -x.ndim <= axis < x.ndim:
            raise ValueError("repeat: axis %d is out of bounds for a %d-dimensional %s" % (axis, x.ndim, x.type))
        axis %= x.ndim
    # Copies on a new axis after `axis` (Alloc), then merged into it (Reshape).
    shape = [x.shape[i] for i in range(x.ndim)]
    alloc_shape = shape[:axis + 1] + [repeats] + shape[axis + 1:]
    shape[axis] = shape[axis] * repeats
    pattern = list(range(x.ndim))
    pattern.insert(axis + 1, "x")
    return alloc(x.dimshuffle(*pattern), *alloc_shape).reshape(shape)


def tile(x, reps, ndim=None):
    """`numpy.tile` with `reps` an int, an integer scalar, or a list of them
    (built from Alloc, DimShuffle and Reshape)."""
    x = as_tensor_variable(x)
    if ndim is not None and ndim < x.ndim:
        raise ValueError("ndim should be equal or larger than x.ndim")
    if not isinstance(reps, (list, tuple)):
        r = as_tensor_variable(reps)
        if r.dtype not in ("bool", "int8", "int16", "int32", "int64", "uint8", "uint16", "uint32", "uint64"):
            raise ValueError("elements of reps must be integer dtype")
        if r.ndim == 0:
            reps = [reps]
        elif r.ndim == 1 and r.constant_value() is not None:
            reps = [int(v) for v in r.constant_value()]
        elif r.ndim == 1:
            raise NotImplementedError("tile with a symbolic vector of repetitions: give them as a list of scalars")
        else:
            raise ValueError("the dimension of reps should not exceed 1")
    else:
        if ndim is not None and len(reps) > ndim:
            raise ValueError("len(reps) should be equal or less than ndim")
        for r in reps:
            ok = isinstance(r, numbers.Integral) or (
                isinstance(r, _core.Var) and r.ndim == 0 and (r.dtype.startswith("int") or r.dtype.startswith("uint")))
            if not ok:
                raise ValueError("elements of reps must be scalars of integer dtype")
    reps = list(reps)
    if ndim is None:
        ndim = max(len(reps), x.ndim)
    reps = [1] * (ndim - len(reps)) + reps
    shape = [1] * (ndim - x.ndim) + [x.shape[i] for i in range(x.ndim)]
    y = alloc(x, *(reps + shape))
    y = y.dimshuffle(*[i + half for i in range(ndim) for half in (0, ndim)])
    return y.reshape([_times(s, r) for s, r in zip(shape, reps)])


def _times(a, b):
    if isinstance(a, numbers.Integral) and a == 1:
        return b
    if isinstance(b, numbers.Integral) and b == 1:
        return a
    return a * b


# -- indices of non-zero elements ---------------------------------------------


def nonzero(a, return_matrix=False):
    """The indices of the non-zero elements of `a`: a tuple of one int64
    vector per dimension (NumPy's form), or with `return_matrix` the
    (ndim, count) matrix the `Nonzero` op computes."""
    a = as_tensor_variable(a)
    matrix = wrap(_core.nonzero(a))
    if return_matrix:
        return matrix
    return tuple(matrix[i] for i in range(a.ndim))


def flatnonzero(a):
    """The indices of the non-zero elements of the flattened `a`."""
    a = as_tensor_variable(a)
    if a.ndim == 0:
        raise ValueError("Nonzero only supports non-scalar arrays.")
    return nonzero(a.flatten(), return_matrix=True)[0]


# -- padding and broadcast patterns ---------------------------------------------


def shape_padleft(t, n_ones=1):
    """`t` with `n_ones` broadcastable axes added in front."""
    t = as_tensor_variable(t)
    return t.dimshuffle(*(["x"] * n_ones + list(range(t.ndim))))


def shape_padright(t, n_ones=1):
    """`t` with `n_ones` broadcastable axes added at the end."""
    t = as_tensor_variable(t)
    return t.dimshuffle(*(list(range(t.ndim)) + ["x"] * n_ones))


def shape_padaxis(t, axis):
    """`t` with a broadcastable axis inserted at `axis` (negative counts from the end)."""
    return wrap(_core.shape_padaxis(as_tensor_variable(t), int(axis)))


def addbroadcast(x, *axes):
    """`x` made broadcastable on `axes` (their length is checked to be 1 at run time)."""
    return wrap(_core.rebroadcast(as_tensor_variable(x), [(int(a), True) for a in axes]))


def unbroadcast(x, *axes):
    """`x` made not broadcastable on `axes`."""
    return wrap(_core.rebroadcast(as_tensor_variable(x), [(int(a), False) for a in axes]))


def patternbroadcast(x, broadcastable):
    """`x` with the broadcastable pattern `broadcastable`."""
    x = as_tensor_variable(x)
    return wrap(_core.rebroadcast(x, [(i, bool(b)) for i, b in enumerate(broadcastable)]))


__all__ = ["join", "concatenate", "stack", "split", "horizontal_stack", "vertical_stack", "alloc", "fill",
           "second", "zeros_like", "ones_like", "zeros", "ones", "arange", "eye", "identity_like", "repeat",
           "tile", "shape_padleft", "shape_padright", "shape_padaxis", "addbroadcast", "unbroadcast",
           "patternbroadcast", "nonzero", "flatnonzero"]
