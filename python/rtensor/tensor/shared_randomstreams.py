"""`RandomStreams` (Theano's `theano.tensor.shared_randomstreams`).

Each draw (`srng.uniform(...)`, `srng.normal(...)`, ...) creates a new
shared variable holding a generator state and returns a symbolic sample; the
state's `default_update` is the draw's new state, so every function that
computes the sample advances the stream by one call.

Seeding: stream number i of ``RandomStreams(seed)`` (in creation order)
starts from a state derived from ``(seed, i)``, so two identically built
containers give identical samples, and ``srng.seed(s)`` resets every stream
to the state it would have had under ``RandomStreams(s)``. The generator is
Philox4x32-10 (counter-based), not NumPy's Mersenne Twister: the numbers
differ from Theano's, the guarantees are the same.
"""

from __future__ import annotations

import os

from .. import _core
from . import raw_random  # noqa: F401  (Theano code reaches it from here)
from .raw_random import RandomStreamsBase

__all__ = ["RandomStreams", "RandomStreamsBase"]


def _resolve_seed(seed):
    """The seed as an int (from OS entropy when None); errors for bad values."""
    if seed is None:
        seed = int.from_bytes(os.urandom(8), "little")
    _core.random_seeded_state(seed, 0)  # validates: an integer in [0, 2**64)
    return int(seed.__index__())


class RandomStreams(RandomStreamsBase):
    """A container of random streams, each kept in a shared variable."""

    _flavor = "RandomStreams"

    def __init__(self, seed=None):
        super().__init__()
        #: ``[(state, new_state)]``, one pair per draw, in creation order.
        self.state_updates = []
        self.default_instance_seed = seed
        self._seed = _resolve_seed(seed)

    def updates(self):
        """The ``(state, new_state)`` pairs of every draw made so far."""
        return list(self.state_updates)

    def seed(self, seed=None):
        """Resets every stream (and the streams made later) from `seed`; None
        reuses the seed given at construction."""
        if seed is None:
            seed = self.default_instance_seed
        self._seed = _resolve_seed(seed)
        for i, update in enumerate(self.state_updates):
            update[0].set_value(_core.random_seeded_state(self._seed, i, self._flavor), borrow=True)

    def __getitem__(self, item):
        """The state value (a uint32 vector) of a stream's state variable."""
        return item.get_value(borrow=True)

    def __setitem__(self, item, val):
        item.set_value(val, borrow=True)

    def _new_state(self):
        from ..compile.sharedvalue import shared

        value = _core.random_seeded_state(self._seed, len(self.state_updates), self._flavor)
        return shared(value, borrow=True)

    def gen(self, op, *args, **kwargs):
        """A draw of ``op(state, *args, **kwargs)`` (a `raw_random` function)
        on a new stream; the sample carries ``.rng`` (the state variable) and
        ``.update`` (the pair ``(state, new_state)``)."""
        state = self._new_state()
        new_state, out = op(state, *args, **kwargs)
        out.rng = state
        out.update = (state, new_state)
        self.state_updates.append(out.update)
        state.default_update = new_state
        return out

