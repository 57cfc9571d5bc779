"""`rtensor.tensor` (Theano's `theano.tensor`, imported as `T`)."""

from . import nnet, signal
from .basic import *  # noqa: F401,F403
from .basic import _PREFIX, _PATTERNS  # noqa: F401
from .type import ScalarType, TensorType
from .var import ScalarVariable, TensorConstant, TensorSharedVariable, TensorVariable, as_tensor_variable

_tensor_py_operators = TensorVariable
