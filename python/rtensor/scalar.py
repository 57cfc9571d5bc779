"""`rtensor.scalar`: Theano's scalar helpers."""

from . import _core


def upcast(*dtypes):
    """The dtype NumPy-like promotion gives for `dtypes`."""
    return _core.upcast(*[str(d) for d in dtypes])
