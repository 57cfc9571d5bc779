"""`rtensor.gof`: Theano's graph module names."""

from .._core import MissingInputError
from ..graph import Apply, Op, Variable
from ..tensor.var import TensorConstant as Constant
