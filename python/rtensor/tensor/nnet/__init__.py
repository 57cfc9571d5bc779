"""`T.nnet`: neural-network functions."""

from .sigm import hard_sigmoid, sigmoid, softplus, ultra_fast_sigmoid  # noqa: F401
from .nnet import *  # noqa: E402,F401,F403
from .abstract_conv import conv2d, conv2d_grad_wrt_inputs, conv2d_grad_wrt_weights  # noqa: E402,F401
from . import abstract_conv, conv, nnet, sigm  # noqa: E402,F401
