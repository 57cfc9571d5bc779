"""`OrderedUpdates`: the updates `scan` returns (Theano's
`theano.updates.OrderedUpdates`), a dict from shared variables to their new
values that keeps its insertion order."""

from __future__ import annotations

import warnings
from collections import OrderedDict


def _check_key(key):
    from .compile.sharedvalue import SharedVariable

    if not isinstance(key, SharedVariable):
        raise TypeError("OrderedUpdates keys must inherit from SharedVariable", key)


class OrderedUpdates(OrderedDict):
    """An ordered dict of updates: keys are shared variables, values their
    new values. `update()` accepts a dict or `(shared, value)` pairs and
    refuses to give one variable two different updates; `+` merges."""

    def __init__(self, *key, **kwargs):
        if len(key) >= 1 and isinstance(key[0], dict) and len(key[0]) > 1 and not isinstance(key[0], OrderedDict):
            warnings.warn("Initializing an `OrderedUpdates` from a non-ordered dictionary with 2+ elements could "
                          "make your code non-deterministic", stacklevel=2)
        super().__init__(*key, **kwargs)
        for k in self:
            _check_key(k)

    def __repr__(self):
        return "OrderedUpdates(%s)" % dict.__repr__(self)

    def __setitem__(self, key, value):
        _check_key(key)
        super().__setitem__(key, value)

    def update(self, other=None, **kwargs):
        if other is None:
            return
        if isinstance(other, dict) and len(other) > 1 and not isinstance(other, OrderedDict):
            warnings.warn("Updating an `OrderedUpdates` with a non-ordered dictionary with 2+ elements could "
                          "make your code non-deterministic", stacklevel=2)
        for key, val in OrderedDict(other).items():
            if key in self:
                if self[key] is val or self[key] == val:
                    continue
                raise KeyError("Collision", key)
            self[key] = val

    def __add__(self, other):
        rval = OrderedUpdates()
        rval.update(self)
        rval.update(other)
        return rval

    def __radd__(self, other):
        rval = OrderedUpdates()
        rval.update(other)
        rval.update(self)
        return rval
