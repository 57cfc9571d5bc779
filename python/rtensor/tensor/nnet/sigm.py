"""`T.nnet`'s sigmoid family (Theano's `nnet/sigm.py`): elementwise ops
and their piecewise-linear approximations."""

from ... import _core
from ..var import _elemwise, as_tensor_variable


def sigmoid(x):
    """Element-wise logistic function 1 / (1 + exp(-x))."""
    return _elemwise("sigmoid", x)


def softplus(x):
    """Element-wise log(1 + exp(x)), without overflow for large x."""
    return _elemwise("softplus", x)


def _float_constant(value, x):
    """`value` as a constant of the float dtype x's functions give."""
    from .. import basic

    return basic.constant(value, dtype=_core.elemwise_dtype("exp", [x.dtype]))


def hard_sigmoid(x):
    """Piecewise-linear sigmoid: clip(0.2 * x + 0.5, 0, 1)."""
    from .. import basic

    x = as_tensor_variable(x)
    slope = _float_constant(0.2, x)
    shift = _float_constant(0.5, x)
    return basic.clip(x * slope + shift, 0, 1)


def ultra_fast_sigmoid(x):
    """Theano's piecewise approximation of the sigmoid (max error ~0.02)."""
    from .. import basic

    x = as_tensor_variable(x)
    c = lambda v: _float_constant(v, x)  # noqa: E731
    half = c(0.5)
    h = half * x
    a = basic.abs_(h)
    z = basic.switch(basic.lt(a, c(1.7)), c(1.5) * a / (c(1.0) + a),
                     basic.switch(basic.lt(a, c(3.0)), c(0.935409070603099) + c(0.0458812946797165) * (a - c(1.7)),
                                  c(0.99505475368673)))
    z = basic.switch(basic.ge(h, 0), z, -z)
    return half * z + half
