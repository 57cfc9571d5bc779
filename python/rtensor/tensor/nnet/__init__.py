"""`T.nnet`: neural-network functions."""

from ..var import _elemwise


def sigmoid(x):
    """Element-wise logistic function 1 / (1 + exp(-x))."""
    return _elemwise("sigmoid", x)


from .nnet import *  # noqa: E402,F401,F403
from .abstract_conv import conv2d, conv2d_grad_wrt_inputs, conv2d_grad_wrt_weights  # noqa: E402,F401
from . import abstract_conv, conv, nnet  # noqa: E402,F401
