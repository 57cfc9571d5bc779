"""`function(..., profile=True)`: `f.profile` holds time per op and node and a
memory summary, like Theano's ProfileStats."""

from __future__ import annotations

import sys


class ProfileStats:
    """The profile of one compiled function, read from the core on access."""

    def __init__(self, fn):
        self._fn = fn

    def _stats(self):
        return self._fn.profile_stats()

    @property
    def fct_callcount(self):
        """Number of calls so far."""
        return self._stats()["calls"]

    @property
    def fct_call_time(self):
        """Seconds spent inside calls."""
        return self._stats()["call_time"]

    @property
    def apply_time(self):
        """Seconds per Apply node (by its text), over all calls."""
        return {text: t for text, (_, t) in self._stats()["apply_time"].items()}

    @property
    def op_time(self):
        """Seconds per op name, over all calls."""
        out = {}
        for op, t in self._stats()["apply_time"].values():
            out[op] = out.get(op, 0.0) + t
        return out

    @property
    def peak_bytes(self):
        """The most bytes alive beyond a call's start, over all calls."""
        return self._stats()["peak_bytes"]

    @property
    def bytes_per_call(self):
        """Bytes of buffers the last call produced (from the pool or not)."""
        return self._stats()["last_call_bytes"]

    @property
    def fresh_bytes_per_call(self):
        """Bytes the last call had to take from the system allocator."""
        return self._stats()["last_call_fresh_bytes"]

    def summary(self, file=sys.stderr, n_ops_to_print=20, n_apply_to_print=20):
        """Prints the per-op, per-node and memory summary."""
        print(self._fn.profile_summary(), file=file)
