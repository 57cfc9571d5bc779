"""`theano.tensor.opt`: the `Assert` op that rewrites use to guard a result
valid only when shapes agree at run time, and that users may insert to check
a condition when a function runs."""
from __future__ import annotations

import json

from .. import _core
from ..graph import wrap
from .var import as_tensor_variable


class Assert:
    """`Assert{msg='...'}(x, *conditions)`: `x` itself, when every condition
    (a 0-d tensor) is non-zero; otherwise calling the function raises
    `AssertionError` with `msg`. The gradient passes through to `x`."""

    def __init__(self, msg="Theano Assert failed!"):
        self.msg = str(msg)

    def __call__(self, value, *conditions):
        args = [as_tensor_variable(v) for v in (value,) + conditions]
        state = json.dumps({"Assert": {"msg": self.msg}})
        return wrap(_core.apply_op_state(state, args)[0])

    def __eq__(self, other):
        return type(other) is Assert and other.msg == self.msg

    def __hash__(self):
        return hash((Assert, self.msg))

    def __str__(self):
        return "Assert{msg='%s'}" % self.msg


assert_op = Assert()

__all__ = ["Assert", "assert_op"]
