"""`MRG_RandomStreams` (Theano's `theano.sandbox.rng_mrg`).

Theano's class runs the MRG31k3p generator with `nstreams` parallel
streams per draw. rtensor draws with the same counter-based Philox4x32-10
engine as `RandomStreams`: every element of a sample is computed from
(key, call counter, element index) alone, so any device can compute any
element and no `nstreams` is needed (the argument is accepted and ignored).
The numbers differ from Theano's; they are deterministic per seed, and
`seed()` reproduces the first results.

Each draw creates a state shared variable (a uint32 vector) whose
`default_update` advances it, as with `RandomStreams`.
"""

from __future__ import annotations

import numbers

from .. import _core
from ..tensor import raw_random
from ..tensor.var import as_tensor_variable

__all__ = ["MRG_RandomStreams"]

# Standard deviation of a standard normal truncated to [-2, 2].
_TRUNCATED_STD = 0.87962566103423978


def _check_size(size, method):
    """Theano's checks of MRG's required `size`: a tuple of positive ints and
    integer scalars, or an integer vector."""
    if isinstance(size, list):
        size = tuple(size)
    if isinstance(size, tuple):
        for s in size:
            if not isinstance(s, (numbers.Integral, _core.Var)):
                raise TypeError("size must be a tuple of int or a Theano variable (in %s, got %r)" % (method, size))
        if any(isinstance(s, numbers.Integral) and s <= 0 for s in size):
            raise ValueError("The specified size contains a dimension with value <= 0", size)
        return size
    if isinstance(size, numbers.Integral):
        if size <= 0:
            raise ValueError("The specified size contains a dimension with value <= 0", size)
        return (size,)
    if isinstance(size, _core.Var) and size.ndim == 1:
        return size
    raise TypeError("size must be a tuple of int or a Theano variable (in %s, got %r)" % (method, size))


class MRG_RandomStreams:
    """A container of random streams with Theano's MRG interface."""

    _flavor = "MRG"

    def __init__(self, seed=12345, use_cuda=None):
        #: ``[(state, new_state, size, nstreams)]``, one per draw.
        self.state_updates = []
        self.default_instance_seed = seed
        self.set_rstate(seed)

    def set_rstate(self, seed):
        """Sets the seed the next streams (and `seed()`) start from."""
        if not isinstance(seed, numbers.Integral) or isinstance(seed, bool):
            raise TypeError("seed should be an integer, got %r" % (seed,))
        _core.random_seeded_state(seed, 0, self._flavor)  # validates the range
        self.rstate = int(seed)

    def seed(self, seed=None):
        """Resets every stream from `seed` (None: the seed given at
        construction), so the first results are drawn again."""
        if seed is None:
            seed = self.default_instance_seed
        self.set_rstate(seed)
        for i, update in enumerate(self.state_updates):
            update[0].set_value(_core.random_seeded_state(self.rstate, i, self._flavor), borrow=True)

    def updates(self):
        """The ``(state, new_state)`` pairs of every draw made so far."""
        return [(u[0], u[1]) for u in self.state_updates]

    def _draw(self, dist, size, params, ndim=None, dtype=None, nstreams=None, replace=True):
        from ..compile.sharedvalue import shared

        state = shared(_core.random_seeded_state(self.rstate, len(self.state_updates), self._flavor), borrow=True)
        new_state, sample = raw_random._draw(dist, state, size, params, ndim, dtype, self._flavor, replace)
        sample.rstate = state
        sample.rng = state
        sample.update = (state, new_state)
        self.state_updates.append((state, new_state, size, nstreams))
        state.default_update = new_state
        return sample

    def uniform(self, size, low=0.0, high=1.0, ndim=None, dtype=None, nstreams=None, **kwargs):
        """Uniform on [low, high); `size` is required."""
        size = _check_size(size, "uniform")
        return self._draw("uniform", size, [low, high], ndim, dtype, nstreams)

    def normal(self, size, avg=0.0, std=1.0, ndim=None, dtype=None, nstreams=None, truncate=False, **kwargs):
        """Normal with mean `avg` and standard deviation `std`; with
        `truncate`, values further than 2 std from `avg` are drawn again."""
        size = _check_size(size, "normal")
        dist = "truncated_normal" if truncate else "normal"
        return self._draw(dist, size, [avg, std], ndim, dtype, nstreams)

    def truncated_normal(self, size, avg=0.0, std=1.0, ndim=None, dtype=None, nstreams=None, **kwargs):
        """Normal truncated to avg ± 2 scale, scaled so that its standard
        deviation is `std`."""
        std = as_tensor_variable(std) / _TRUNCATED_STD
        return self.normal(size, avg, std, ndim, dtype, nstreams, truncate=True)

    def binomial(self, size=None, n=1, p=0.5, ndim=None, dtype="int64", nstreams=None, **kwargs):
        """Bernoulli draws (n must be 1) with success probability `p`."""
        if isinstance(n, _core.Var) or not isinstance(n, numbers.Integral) or n != 1:
            raise NotImplementedError("MRG_RandomStreams.binomial is only implemented for n == 1")
        if size is not None:
            size = _check_size(size, "binomial")
        return self._draw("binomial", size, [1, p], ndim, dtype, nstreams)

    def multinomial(self, size=None, n=1, pvals=None, ndim=None, dtype="int64", nstreams=None, **kwargs):
        """Counts of `n` draws for each row of the matrix `pvals`."""
        if pvals is None:
            raise TypeError("You have to specify pvals")
        if size is not None:
            raise ValueError("Provided a size argument to MRG_RandomStreams.multinomial, which does not use the size "
                             "argument.")
        if ndim is not None:
            raise ValueError("Provided an ndim argument to MRG_RandomStreams.multinomial, which does not use the ndim "
                             "argument.")
        pvals = as_tensor_variable(pvals)
        if pvals.ndim != 2:
            raise NotImplementedError("MRG_RandomStreams.multinomial only implemented for pvals.ndim = 2")
        return self._draw("multinomial", None, [n, pvals], None, dtype, nstreams)

    def choice(self, size=1, a=None, replace=True, p=None, ndim=None, dtype="int64", nstreams=None, **kwargs):
        """For each row of the matrix `p`, `size` column indices drawn without
        replacement with probabilities `p` (Theano's only supported case)."""
        if replace:
            raise NotImplementedError("MRG_RandomStreams.choice only works without replacement for now.")
        if a is not None:
            raise TypeError("For now, a has to be None in MRG_RandomStreams.choice. Sampled values are between 0 "
                            "and p.shape[1]-1")
        if p is None:
            raise TypeError("For now, p has to be specified in MRG_RandomStreams.choice.")
        if ndim is not None:
            raise ValueError("ndim argument to MRG_RandomStreams.choice is not used.")
        p = as_tensor_variable(p)
        if p.ndim != 2:
            raise NotImplementedError("MRG_RandomStreams.choice is only implemented for p.ndim = 2")
        return self._draw("choice_rows", None, [p, size], None, dtype, nstreams)

    def multinomial_wo_replacement(self, size=None, n=1, pvals=None, ndim=None, dtype="int64", nstreams=None,
                                   **kwargs):
        """Theano's older name of `choice(size=n, replace=False, p=pvals)`."""
        return self.choice(size=n, a=None, replace=False, p=pvals, dtype=dtype, nstreams=nstreams)
