"""Graph objects as Python sees them: variables (backed by the Rust core),
their types, and read-only views of Apply nodes."""

from __future__ import annotations

import weakref

from . import _core

_COMPARISONS = {"Elemwise{%s,no_inplace}" % n for n in ("lt", "le", "gt", "ge", "eq", "neq")}


class Op:
    """Base class of ops. Subclass it to write an op in Python, as in Theano:

        class DoubleOp(th.Op):
            __props__ = ()
            def make_node(self, x):
                x = T.as_tensor_variable(x)
                return th.Apply(self, [x], [x.type()])
            def perform(self, node, inputs, output_storage):
                output_storage[0][0] = inputs[0] * 2
            def grad(self, inputs, output_grads):
                return [output_grads[0] * 2]

    `__props__` names the attributes that make two ops equal (and shows
    them in debugprint); `view_map`/`destroy_map` map an output index to the
    list of the input it views or overwrites. `perform` gets read-only
    input arrays unless it declares a `destroy_map`; DebugMode checks the
    declarations.
    """

    __props__ = None
    view_map = {}
    destroy_map = {}

    def make_node(self, *inputs):
        raise NotImplementedError("%s must define make_node" % type(self).__name__)

    def perform(self, node, inputs, output_storage):
        raise NotImplementedError("%s must define perform" % type(self).__name__)

    def __call__(self, *inputs, **kwargs):
        node = self.make_node(*inputs, **kwargs)
        return node.outputs[0] if len(node.outputs) == 1 else list(node.outputs)

    def _props_dict(self):
        return {p: getattr(self, p) for p in (self.__props__ or ())}

    def __eq__(self, other):
        if self.__props__ is None:
            return self is other
        return type(self) is type(other) and self._props_dict() == other._props_dict()

    def __hash__(self):
        if self.__props__ is None:
            return id(self)
        return hash((type(self), tuple(self._props_dict().items())))

    def __str__(self):
        props = self._props_dict()
        if not props:
            return type(self).__name__
        return "%s{%s}" % (type(self).__name__, ", ".join("%s=%s" % kv for kv in props.items()))

    __repr__ = __str__

    def _key(self):
        """What identifies equal ops for the core's merge rewrite."""
        if self.__props__ is None:
            return "%s@%x" % (type(self).__qualname__, id(self))
        return "%s.%s%r" % (type(self).__module__, type(self).__qualname__, tuple(self._props_dict().items()))


class _CoreOp(Op):
    """A built-in op, known by its Theano name (the `.op` of core nodes)."""

    def __init__(self, name: str):
        self.name = name

    def __str__(self):
        return self.name

    __repr__ = __str__

    def __eq__(self, other):
        return isinstance(other, _CoreOp) and other.name == self.name

    def __hash__(self):
        return hash(self.name)


class _NodeView:
    """What a Python op's `perform` sees as `node`: the op and placeholder
    variables of the node's input and output types."""

    def __init__(self, op, inputs, outputs):
        self.op = op
        self.inputs = inputs
        self.outputs = outputs


def _pairs_of(mapping, what, op):
    pairs = []
    for out, ins in dict(mapping or {}).items():
        ins = ins if isinstance(ins, (list, tuple)) else [ins]
        if len(ins) != 1:
            raise ValueError("%s: each %s entry must name one input, got %r" % (op, what, ins))
        pairs.append((int(out), int(ins[0])))
    return pairs


class Apply:
    """A node of the graph: `op` applied to `inputs`, giving `outputs`.

    For a Python op, `Apply(op, inputs, outputs)` makes the node in the
    core: `outputs` give the output types (usually `x.type()`), and the
    node's real outputs replace them."""

    def __init__(self, op, inputs, outputs):
        self.op = op
        self.inputs = list(inputs)
        self.outputs = list(outputs)
        if isinstance(op, Op) and not isinstance(op, _CoreOp):
            self._make_core_node()

    def _make_core_node(self):
        from .tensor.var import as_tensor_variable

        op = self.op
        self.inputs = [as_tensor_variable(i) for i in self.inputs]
        types = [(o.type.dtype, list(o.type.broadcastable)) for o in self.outputs]
        placeholders = _NodeView(op, [i.type() for i in self.inputs], [o.type() for o in self.outputs])
        outs = _core.apply_python_op(op, placeholders, str(op), op._key(), self.inputs, types,
                                     _pairs_of(op.view_map, "view_map", op),
                                     _pairs_of(op.destroy_map, "destroy_map", op))
        self.outputs = [wrap(o) for o in outs]

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
        op = self.python_op() or _CoreOp(name)
        node = Apply.__new__(Apply)
        node.op, node.inputs, node.outputs = op, [wrap(i) for i in inputs], [wrap(o) for o in outputs]
        return node

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

    def __reduce__(self):
        from .pickling import reduce_variable

        return reduce_variable(self)

    def __setstate__(self, state):
        from .pickling import set_variable_state

        set_variable_state(self, state)


# One Python object per live core variable, so that identity (and pickle's
# memo) follows the graph.
_WRAPPERS = weakref.WeakValueDictionary()


def wrap(handle):
    """The Python object of a core variable handle."""
    known = _WRAPPERS.get(handle.id)
    if known is not None:
        return known
    from .tensor.var import ScalarVariable, TensorConstant, TensorSharedVariable, TensorVariable

    if handle.is_scalar_type:
        obj = ScalarVariable(handle)
    elif handle.kind == "constant":
        obj = TensorConstant(handle)
    elif handle.kind == "shared":
        obj = TensorSharedVariable(handle)
    else:
        obj = TensorVariable(handle)
    _WRAPPERS[handle.id] = obj
    return obj
