"""Graph objects as Python sees them: variables (backed by the Rust core),
their types, and read-only views of Apply nodes."""

from __future__ import annotations

from . import _core

_COMPARISONS = {"Elemwise{%s,no_inplace}" % n for n in ("lt", "le", "gt", "ge", "eq", "neq")}


class Op:
    """The op of an Apply node, known by its Theano name."""

    def __init__(self, name: str):
        self.name = name

    def __str__(self):
        return self.name

    __repr__ = __str__

    def __eq__(self, other):
        return isinstance(other, Op) and other.name == self.name

    def __hash__(self):
        return hash(self.name)


class Apply:
    """A node of the graph: `op` applied to `inputs`, giving `outputs`."""

    def __init__(self, op, inputs, outputs):
        self.op = op
        self.inputs = inputs
        self.outputs = outputs

    def __str__(self):
        return "%s(%s)" % (self.op, ", ".join(str(i) for i in self.inputs))

    __repr__ = __str__


class Variable(_core.Var):
    """A symbolic variable. Variables compare by identity: `x == y` is
    Python identity (use `T.eq` for the element-wise comparison)."""

    def __eq__(self, other):
        return isinstance(other, _core.Var) and self.id == other.id

    def __ne__(self, other):
        return not self.__eq__(other)

    def __hash__(self):
        return hash(self.id)

    def __str__(self):
        return self.display()

    __repr__ = __str__

    def __bool__(self):
        info = self.owner_info()
        if info is not None and info[0] in _COMPARISONS:
            raise TypeError(
                "Variables do not support boolean operations: the result of a comparison "
                "is symbolic (this forbids chained comparisons like a < b < c)."
            )
        return True

    def __len__(self):
        raise TypeError("object of type 'TensorVariable' has no len(): its length is symbolic")

    def __iter__(self):
        raise TypeError("TensorType does not support iteration. Maybe you are using builtin.sum instead of rtensor.tensor.sum?")

    @property
    def owner(self):
        info = self.owner_info()
        if info is None:
            return None
        name, inputs, outputs, _ = info
        return Apply(Op(name), [wrap(i) for i in inputs], [wrap(o) for o in outputs])

    @property
    def index(self):
        info = self.owner_info()
        return None if info is None else info[3]

    @property
    def type(self):
        from .tensor.type import TensorType, ScalarType

        if self.is_scalar_type:
            return ScalarType(self.dtype)
        return TensorType(self.dtype, tuple(self.broadcastable))

    def __getstate__(self):
        raise TypeError("pickling rtensor graphs is not supported yet")


def wrap(handle):
    """The Python object of a core variable handle."""
    from .tensor.var import ScalarVariable, TensorConstant, TensorSharedVariable, TensorVariable

    if handle.is_scalar_type:
        return ScalarVariable(handle)
    kind = handle.kind
    if kind == "constant":
        return TensorConstant(handle)
    if kind == "shared":
        return TensorSharedVariable(handle)
    return TensorVariable(handle)
