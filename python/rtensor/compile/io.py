"""`In` and `Out`: how a compiled function takes an input or returns an output."""

from __future__ import annotations


class In:
    """An input of `function`, with an optional default `value`, a keyword
    `name`, an internal-state `update`, and the borrow/mutable permissions."""

    def __init__(self, variable, name=None, value=None, update=None, mutable=None, strict=False,
                 allow_downcast=None, autoname=True, implicit=None, borrow=None, shared=False):
        self.variable = variable
        self.name = name
        self.value = value
        self.has_value = value is not None or update is not None
        self.update = update
        if mutable is None:
            mutable = False
        self.mutable = mutable
        if borrow is None:
            borrow = mutable
        elif mutable and not borrow:
            raise AssertionError("Symbolic input for variable %s (name=%s) has flags mutable=True, borrow=False. "
                                 "This combination is incompatible since mutable=True implies that the input "
                                 "variable may be both aliased (borrow=True) and overwritten." % (variable, name))
        self.borrow = borrow
        self.strict = strict
        self.allow_downcast = allow_downcast
        self.autoname = autoname
        self.implicit = implicit
        self.shared = shared


class Out:
    """An output of `function`; `borrow=True` lets the result alias memory
    the function keeps (SPEC §3.8)."""

    def __init__(self, variable, borrow=False):
        self.variable = variable
        self.borrow = borrow
