"""`rtensor.scan_module` (Theano's `theano.scan_module`): `scan`, `until`,
and the `map`/`reduce`/`foldl`/`foldr` views of scan."""

from .scan import scan, until
from .scan_views import foldl, foldr, map, reduce

__all__ = ["foldl", "foldr", "map", "reduce", "scan", "until"]
