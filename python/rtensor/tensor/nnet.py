"""`T.nnet`: neural-network functions."""

from .var import _elemwise


def sigmoid(x):
    """Element-wise logistic function 1 / (1 + exp(-x))."""
    return _elemwise("sigmoid", x)
