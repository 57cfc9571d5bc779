"""Tensor constructors and the functions of `rtensor.tensor` (Theano's
`theano.tensor`). Each makes nodes in the Rust core."""

from __future__ import annotations

import builtins as _builtins
import numbers

from .. import _core
from ..configparser import config
from ..graph import wrap
from .type import TensorType
from .var import TensorVariable, _axes, _elemwise, _keepdims, as_tensor_variable

# -- constructors -----------------------------------------------------------

_PREFIX = {"b": "int8", "w": "int16", "i": "int32", "l": "int64", "f": "float32", "d": "float64", "c": "complex64", "z": "complex128"}


def tensor(dtype=None, broadcastable=None, name=None):
    """`T.tensor(dtype, broadcastable, name)`."""
    return TensorType(dtype or config.floatX, broadcastable or ())(name)


def _constructor(pattern, doc):
    def make(name=None, dtype=None):
        return TensorType(dtype or config.floatX, pattern)(name)

    make.__doc__ = doc
    return make


scalar = _constructor((), "A 0-d tensor variable (dtype floatX unless given).")
vector = _constructor((False,), "A 1-d tensor variable.")
matrix = _constructor((False, False), "A 2-d tensor variable.")
row = _constructor((True, False), "A 1xN matrix variable (first dimension broadcastable).")
col = _constructor((False, True), "An Nx1 matrix variable (second dimension broadcastable).")
tensor3 = _constructor((False,) * 3, "A 3-d tensor variable.")
tensor4 = _constructor((False,) * 4, "A 4-d tensor variable.")
tensor5 = _constructor((False,) * 5, "A 5-d tensor variable.")


def _prefixed(prefix, pattern):
    dtype = _PREFIX[prefix]

    def make(name=None):
        return TensorType(dtype, pattern)(name)

    make.__doc__ = "A %s variable of broadcastable pattern %s." % (dtype, pattern)
    return make


_PATTERNS = {"scalar": (), "vector": (False,), "matrix": (False, False), "row": (True, False), "col": (False, True),
             "tensor3": (False,) * 3, "tensor4": (False,) * 4, "tensor5": (False,) * 5}
for _p in _PREFIX:
    for _kind, _pattern in _PATTERNS.items():
        globals()[_p + _kind] = _prefixed(_p, _pattern)


def _several(make, kind, plural):
    """Theano's plural constructors (`T.dmatrices('x', 'y')`): several
    names give a list of variables; a count gives that many unnamed ones;
    one name (or a count of 1) gives the variable itself; as in Theano, a
    single string of several characters names one variable per character."""

    def several(*names, **kwargs):
        if names and isinstance(names[0], numbers.Integral):
            if names[0] == 1:
                return make(**kwargs)
            return [make(**kwargs) for _ in range(names[0])]
        if len(names) == 1:
            names = names[0]
        if len(names) == 1:
            return make(names[0] if isinstance(names, (tuple, list)) else names, **kwargs)
        return [make(name, **kwargs) for name in names]

    several.__name__ = plural
    several.__doc__ = "Several variables made by `%s` (`%s('x', 'y')`)." % (kind, plural)
    return several


_PLURALS = {"scalar": "scalars", "vector": "vectors", "matrix": "matrices", "row": "rows", "col": "cols",
            "tensor3": "tensor3s", "tensor4": "tensor4s", "tensor5": "tensor5s"}
for _kind, _plural in _PLURALS.items():
    globals()[_plural] = _several(globals()[_kind], _kind, _plural)
    for _p in _PREFIX:
        globals()[_p + _plural] = _several(globals()[_p + _kind], _p + _kind, _p + _plural)


def constant(x, name=None, ndim=None, dtype=None):
    """A constant; Python numbers take the smallest dtype that holds them."""
    v = wrap(_core.constant(x, name, dtype))
    if ndim is not None and v.ndim != ndim:
        raise ValueError("constant %r has %d dimensions, not %d" % (x, v.ndim, ndim))
    return v


# -- elementwise --------------------------------------------------------------


def _unary(op, doc):
    def f(x):
        return _elemwise(op, x)

    f.__name__ = op.rstrip("_")
    f.__doc__ = doc
    return f


def _binary(op, doc):
    def f(a, b):
        return _elemwise(op, a, b)

    f.__name__ = op.rstrip("_")
    f.__doc__ = doc
    return f


add = _binary("add", "Element-wise a + b.")
sub = _binary("sub", "Element-wise a - b.")
mul = _binary("mul", "Element-wise a * b.")
true_div = _binary("true_div", "Element-wise a / b.")
int_div = _binary("int_div", "Element-wise a // b (floor).")
mod = _binary("mod", "Element-wise a % b.")
pow = _binary("pow", "Element-wise a ** b.")
maximum = _binary("maximum", "Element-wise maximum.")
minimum = _binary("minimum", "Element-wise minimum.")
eq = _binary("eq", "Element-wise a == b (bool).")
neq = _binary("neq", "Element-wise a != b (bool).")
lt = _binary("lt", "Element-wise a < b (bool).")
le = _binary("le", "Element-wise a <= b (bool).")
gt = _binary("gt", "Element-wise a > b (bool).")
ge = _binary("ge", "Element-wise a >= b (bool).")
and_ = _binary("and_", "Element-wise bitwise and.")
or_ = _binary("or_", "Element-wise bitwise or.")
xor = _binary("xor", "Element-wise bitwise xor.")
neg = _unary("neg", "Element-wise -x.")
abs_ = _unary("abs_", "Element-wise |x|.")
sqr = _unary("sqr", "Element-wise x * x.")
sqrt = _unary("sqrt", "Element-wise square root.")
exp = _unary("exp", "Element-wise exponential.")
log = _unary("log", "Element-wise natural logarithm.")
sin = _unary("sin", "Element-wise sine.")
cos = _unary("cos", "Element-wise cosine.")
tanh = _unary("tanh", "Element-wise hyperbolic tangent.")
invert = _unary("invert", "Element-wise bitwise not.")
divide = true_div
floor_div = int_div
exp2 = _unary("exp2", "Element-wise 2 ** x.")
expm1 = _unary("expm1", "Element-wise exp(x) - 1, accurate near 0.")
log2 = _unary("log2", "Element-wise base-2 logarithm.")
log10 = _unary("log10", "Element-wise base-10 logarithm.")
log1p = _unary("log1p", "Element-wise log(1 + x), accurate near 0.")
sgn = _unary("sgn", "Element-wise sign: -1, 0 or 1 (NaN stays NaN).")
floor = _unary("floor", "Element-wise floor (integers give floats).")
ceil = _unary("ceil", "Element-wise ceiling (integers give floats).")
trunc = _unary("trunc", "Element-wise rounding toward zero (integers give floats).")
round_half_to_even = _unary("round_half_to_even", "Element-wise rounding, halves to the even neighbour (NumPy's round).")
round_half_away_from_zero = _unary("round_half_away_from_zero", "Element-wise rounding, halves away from zero (C's round).")
tan = _unary("tan", "Element-wise tangent.")
arcsin = _unary("arcsin", "Element-wise inverse sine.")
arccos = _unary("arccos", "Element-wise inverse cosine.")
arctan = _unary("arctan", "Element-wise inverse tangent.")
arctan2 = _binary("arctan2", "Element-wise arctan(a / b) in the quadrant of (b, a).")
sinh = _unary("sinh", "Element-wise hyperbolic sine.")
cosh = _unary("cosh", "Element-wise hyperbolic cosine.")
arcsinh = _unary("arcsinh", "Element-wise inverse hyperbolic sine.")
arccosh = _unary("arccosh", "Element-wise inverse hyperbolic cosine.")
arctanh = _unary("arctanh", "Element-wise inverse hyperbolic tangent.")
erf = _unary("erf", "Element-wise error function.")
erfc = _unary("erfc", "Element-wise complementary error function 1 - erf(x).")
erfinv = _unary("erfinv", "Element-wise inverse error function.")
gamma = _unary("gamma", "Element-wise gamma function.")
gammaln = _unary("gammaln", "Element-wise log of the absolute value of the gamma function.")
psi = _unary("psi", "Element-wise digamma function, the derivative of gammaln.")
tri_gamma = _unary("tri_gamma", "Element-wise trigamma function, the derivative of psi.")
tetra_gamma = _unary(
    "tetra_gamma",
    "Element-wise tetragamma function polygamma(2, x), the derivative of tri_gamma.",
)
isnan = _unary("isnan", "Element-wise test for NaN (bool; never true for integers).")
isinf = _unary("isinf", "Element-wise test for +-inf (bool; never true for integers).")
inv = _unary("inv", "Element-wise 1 / x (integers give floats).")
deg2rad = _unary("deg2rad", "Element-wise degrees to radians.")
rad2deg = _unary("rad2deg", "Element-wise radians to degrees.")
abs = abs_
reciprocal = inv
bitwise_and = and_
bitwise_or = or_
bitwise_xor = xor
bitwise_not = invert


def clip(x, min, max):
    """Element-wise `min` where x < min, else `max` where x > max, else x."""
    return _elemwise("clip", x, min, max)


def round(a, mode=None):
    """Element-wise rounding; `mode` is 'half_to_even' (default, like NumPy)
    or 'half_away_from_zero'."""
    if mode is None or mode == "half_to_even":
        return round_half_to_even(a)
    if mode == "half_away_from_zero":
        return round_half_away_from_zero(a)
    raise Exception("round mode %s is not implemented." % mode)


def iround(a, mode=None):
    """`round(a, mode)` as int64."""
    return cast(round(a, mode), "int64")


def isclose(a, b, rtol=1.0e-5, atol=1.0e-8, equal_nan=False):
    """Element-wise |a - b| <= atol + rtol * |b| (NumPy's isclose): NaNs are
    never close unless `equal_nan`, infinities only to themselves."""
    a = as_tensor_variable(a)
    b = as_tensor_variable(b)
    close = le(abs_(a - b), atol + rtol * abs_(b))
    a_nan, b_nan = isnan(a), isnan(b)
    a_inf, b_inf = isinf(a), isinf(b)
    finite = invert(or_(or_(a_nan, b_nan), or_(a_inf, b_inf)))
    same_inf = and_(and_(a_inf, b_inf), eq(a, b))
    out = or_(and_(close, finite), same_inf)
    if equal_nan:
        out = or_(out, and_(a_nan, b_nan))
    return out


def allclose(a, b, rtol=1.0e-5, atol=1.0e-8, equal_nan=False):
    """True when every element of `a` is close to `b` (see `isclose`)."""
    return eq(sum(invert(isclose(a, b, rtol, atol, equal_nan))), 0)


def switch(cond, ift, iff):
    """Element-wise `ift if cond else iff` (both branches are computed)."""
    return _elemwise("switch", cond, ift, iff)


where = switch


def second(a, b):
    """`b` broadcast to the shape of `a` (Theano's `second`)."""
    return _elemwise("second", a, b)


fill = second


def cast(x, dtype):
    """`x` converted to `dtype` (float to int truncates toward zero)."""
    x = as_tensor_variable(x)
    if dtype == "floatX":
        dtype = config.floatX
    return wrap(_core.cast(x, str(dtype)))


# -- shapes -----------------------------------------------------------------


def reshape(x, newshape, ndim=None):
    """`x` with another shape (one entry may be -1)."""
    x = as_tensor_variable(x)
    if isinstance(newshape, _core.Var):
        shape = as_tensor_variable(newshape)
        if ndim is None:
            raise ValueError("reshape with a symbolic shape vector needs ndim=")
    else:
        if isinstance(newshape, numbers.Integral):
            newshape = (newshape,)
        newshape = list(newshape)
        ndim = len(newshape) if ndim is None else ndim
        if all(isinstance(s, numbers.Integral) for s in newshape):
            import numpy as np

            shape = wrap(_core.constant(np.asarray(newshape, dtype="int64"), None, "int64"))
        else:
            shape = wrap(_core.make_vector([cast(as_tensor_variable(s), "int64") for s in newshape], "int64"))
    return wrap(_core.reshape(x, shape, int(ndim)))


def flatten(x, ndim=1, outdim=None):
    """`x` with its trailing dimensions joined into one."""
    return as_tensor_variable(x).flatten(ndim, outdim)


def shape(x):
    """The shape of `x` as an int64 vector."""
    return as_tensor_variable(x).shape


def transpose(x, axes=None):
    """`x` with its axes permuted (reversed by default)."""
    x = as_tensor_variable(x)
    return x.transpose() if axes is None else x.transpose(*axes)


# -- reductions -------------------------------------------------------------


def _reduce(kind, x, axis, keepdims, dtype=None):
    x = as_tensor_variable(x)
    out = wrap(_core.reduce(kind, x, _axes(axis, x.ndim)))
    if dtype is not None:
        out = cast(out, dtype)
    return _keepdims(out, x, axis) if keepdims else out


def sum(x, axis=None, dtype=None, keepdims=False, acc_dtype=None):
    """Sum over `axis` (all axes by default); integers sum as int64."""
    return _reduce("sum", x, axis, keepdims, dtype)


def prod(x, axis=None, dtype=None, keepdims=False, acc_dtype=None):
    """Product over `axis`."""
    return _reduce("prod", x, axis, keepdims, dtype)


def mean(x, axis=None, dtype=None, keepdims=False, acc_dtype=None):
    """Mean over `axis`; integer inputs give float64."""
    return _reduce("mean", x, axis, keepdims, dtype)


def max(x, axis=None, keepdims=False):
    """Maximum over `axis`."""
    return _reduce("max", x, axis, keepdims)


def min(x, axis=None, keepdims=False):
    """Minimum over `axis`."""
    return _reduce("min", x, axis, keepdims)


# -- products ---------------------------------------------------------------


def dot(a, b):
    """NumPy's dot: a product with a scalar is elementwise; vectors and
    matrices use the `dot` op; beyond 2-d it is a tensordot over the last
    axis of `a` and the second-to-last of `b`."""
    a, b = as_tensor_variable(a), as_tensor_variable(b)
    if a.ndim == 0 or b.ndim == 0:
        return a * b
    if a.ndim > 2 or b.ndim > 2:
        from .products import tensordot

        return tensordot(a, b, [[a.ndim - 1], [_builtins.max(0, b.ndim - 2)]])
    return wrap(_core.dot(a, b))


__all__ = [n for n in dir() if not n.startswith("_")] + ["TensorVariable"]
