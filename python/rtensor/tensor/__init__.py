"""`rtensor.tensor` (Theano's `theano.tensor`, imported as `T`)."""

from . import blas, nnet, opt, signal, subtensor
from . import raw_random, shared_randomstreams  # noqa: F401
from .basic import *  # noqa: F401,F403
from .basic import _PREFIX, _PATTERNS  # noqa: F401
from .products import *  # noqa: F401,F403
from .reduction import *  # noqa: F401,F403
from .structure import *  # noqa: F401,F403
from .type import ScalarType, TensorType
from .var import ScalarVariable, TensorConstant, TensorSharedVariable, TensorVariable, as_tensor_variable

_tensor_py_operators = TensorVariable
from .subtensor import (advanced_inc_subtensor1, advanced_set_subtensor1, advanced_subtensor1, inc_subtensor,
                        set_subtensor, take)
from ..gradient import Lop, Rop, grad, hessian, jacobian, verify_grad  # noqa: E402
