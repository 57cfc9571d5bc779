"""Random draws as graph nodes (Theano's `theano.tensor.raw_random`).

Each function takes a generator state variable (a `uint32` vector of four
words: a Philox4x32-10 key and a call counter) and returns the pair
``(new_state, sample)``; the node is ``RandomFunction{<name>}``. The sample
is a pure function of the state, and ``new_state`` is the state one call
later, so a draw is reproducible and a loop can carry the state from step to
step. `RandomStreams` (`shared_randomstreams`) keeps the states in shared
variables whose default updates advance them.

``size`` is None (the parameters' broadcast shape), a tuple of integers and
integer scalars, or an integer vector such as ``x.shape``; ``ndim`` must
agree with it and is needed when the length of a symbolic vector cannot be
inferred. The parameters broadcast to ``size``.
"""

from __future__ import annotations

import numbers

from .. import _core
from ..configparser import config
from ..graph import wrap
from .var import as_tensor_variable


def _dtype(dtype):
    if dtype is None:
        return None
    dtype = str(dtype)
    return config.floatX if dtype == "floatX" else dtype


def _draw(dist, random_state, size, params, ndim=None, dtype=None, flavor="RandomStreams", replace=True):
    params = [as_tensor_variable(p) for p in params]
    new_state, sample = _core.random_draw(dist, random_state, size, params, ndim, _dtype(dtype), flavor,
                                          bool(replace))
    return wrap(new_state), wrap(sample)


def uniform(random_state, size=None, low=0.0, high=1.0, ndim=None, dtype=None):
    """Uniform on [low, high); dtype defaults to upcast(floatX, low, high)."""
    return _draw("uniform", random_state, size, [low, high], ndim, dtype)


def normal(random_state, size=None, avg=0.0, std=1.0, ndim=None, dtype=None):
    """Normal with mean `avg` and standard deviation `std` (std >= 0)."""
    return _draw("normal", random_state, size, [avg, std], ndim, dtype)


def binomial(random_state, size=None, n=1, p=0.5, ndim=None, dtype="int64", prob=None):
    """Number of successes in `n` trials of probability `p` (`prob` is the old name)."""
    if prob is not None:
        p = prob
    return _draw("binomial", random_state, size, [n, p], ndim, dtype)


def random_integers(random_state, size=None, low=0, high=1, ndim=None, dtype="int64"):
    """Integers between `low` and `high`, both inclusive."""
    return _draw("random_integers", random_state, size, [low, high], ndim, dtype)


def poisson(random_state, size=None, lam=1.0, ndim=None, dtype="int64"):
    """Poisson counts of mean `lam` (lam >= 0)."""
    return _draw("poisson", random_state, size, [lam], ndim, dtype)


def _symbolic_flag(value, what):
    if isinstance(value, _core.Var):
        raise NotImplementedError("%s must be a Python bool, not a symbolic variable" % what)
    return bool(value)


def choice(random_state, size=None, a=2, replace=True, p=None, ndim=None, dtype="int64"):
    """Elements of `a` (a vector), or of range(a) (an integer), drawn with or
    without replacement, with probabilities `p` (uniform when None)."""
    replace = _symbolic_flag(replace, "replace")
    if p is None:
        p = _core.constant([], None, "float64")
    return _draw("choice", random_state, size, [a, p], ndim, dtype, replace=replace)


def permutation(random_state, size=None, n=1, ndim=None, dtype="int64"):
    """Permutations of range(n): the sample has shape size + (n,)."""
    return _draw("permutation", random_state, size, [n], ndim, dtype)


def multinomial(random_state, size=None, n=1, pvals=(0.5, 0.5), ndim=None, dtype="int64"):
    """Counts of `n` draws among len(pvals[-1]) categories, one distribution
    per row of `pvals`: the sample has shape size + (pvals.shape[-1],)."""
    return _draw("multinomial", random_state, size, [n, list(pvals) if isinstance(pvals, tuple) else pvals],
                 ndim, dtype)


def shuffle_row_elements(random_state, input):
    """`input` with each row (last axis) in a random order: row r is
    permuted as `permutation` would permute range(len(row)) from this state."""
    return _draw("shuffle_row_elements", random_state, None, [input])


def integers(random_state, size=None, low=0, high=None, ndim=None, dtype="int64"):
    """Integers in [low, high) (NumPy Generator's `integers`); with `high`
    None, in [0, low)."""
    if high is None:
        low, high = 0, low
    high = high - 1 if isinstance(high, numbers.Integral) else as_tensor_variable(high) - 1
    return random_integers(random_state, size, low, high, ndim, dtype)


class RandomStreamsBase:
    """The drawing methods shared by the stream containers: each calls
    `self.gen(<raw_random function>, ...)`."""

    def binomial(self, size=None, n=1, p=0.5, ndim=None, dtype="int64", prob=None):
        """Number of successes in `n` trials of probability `p`."""
        if prob is not None:
            p = prob
        return self.gen(binomial, size, n, p, ndim=ndim, dtype=dtype)

    def uniform(self, size=None, low=0.0, high=1.0, ndim=None, dtype=None):
        """Uniform on [low, high)."""
        return self.gen(uniform, size, low, high, ndim=ndim, dtype=dtype)

    def normal(self, size=None, avg=0.0, std=1.0, ndim=None, dtype=None):
        """Normal with mean `avg` and standard deviation `std`."""
        return self.gen(normal, size, avg, std, ndim=ndim, dtype=dtype)

    def random_integers(self, size=None, low=0, high=1, ndim=None, dtype="int64"):
        """Integers between `low` and `high`, both inclusive."""
        return self.gen(random_integers, size, low, high, ndim=ndim, dtype=dtype)

    def integers(self, size=None, low=0, high=None, ndim=None, dtype="int64"):
        """Integers in [low, high)."""
        return self.gen(integers, size, low, high, ndim=ndim, dtype=dtype)

    def choice(self, size=None, a=2, replace=True, p=None, ndim=None, dtype="int64"):
        """Elements of `a` (or of range(a)), with or without replacement."""
        return self.gen(choice, size, a, replace, p, ndim=ndim, dtype=dtype)

    def poisson(self, size=None, lam=None, ndim=None, dtype="int64"):
        """Poisson counts of mean `lam`."""
        if lam is None:
            raise TypeError("poisson() needs lam")
        return self.gen(poisson, size, lam, ndim=ndim, dtype=dtype)

    def permutation(self, size=None, n=1, ndim=None, dtype="int64"):
        """Permutations of range(n), as many as `size` asks."""
        return self.gen(permutation, size, n, ndim=ndim, dtype=dtype)

    def multinomial(self, size=None, n=1, pvals=(0.5, 0.5), ndim=None, dtype="int64"):
        """Counts of `n` draws among the categories of each row of `pvals`."""
        return self.gen(multinomial, size, n, pvals, ndim=ndim, dtype=dtype)

    def shuffle_row_elements(self, input):
        """`input` with the elements of every row (last axis) in a random
        order, each row shuffled independently."""
        return self.gen(shuffle_row_elements, input)
