"""Registers rtensor under the name `theano`.

After `import rtensor.compat.theano`, `import theano`, `import theano.tensor
as T`, `from theano.tensor.nnet import conv2d`, `from theano.sandbox.rng_mrg
import MRG_RandomStreams` and the like resolve to rtensor's modules: each
`theano.X.Y` is the very module object `rtensor.X.Y` (so `theano.config is
rtensor.config`). A Theano module that rtensor does not provide fails to
import with a ModuleNotFoundError naming both names.
"""

from __future__ import annotations

import importlib
import importlib.abc
import importlib.machinery
import importlib.util
import sys

ALIAS = "theano"
TARGET = "rtensor"

# Theano module paths that live elsewhere in rtensor.
RENAMED = {
    "theano.tensor.signal": "rtensor.tensor.signal",
    "theano.sandbox.cuda": "rtensor.cuda",
    "theano.gpuarray": "rtensor.cuda",
}


def target_name(fullname: str) -> str:
    """The rtensor module that stands for the Theano module `fullname`."""
    for old, new in RENAMED.items():
        if fullname == old or fullname.startswith(old + "."):
            return new + fullname[len(old):]
    return TARGET + fullname[len(ALIAS):]


class _AliasLoader(importlib.abc.Loader):
    def __init__(self, target: str):
        self.target = target

    def create_module(self, spec):
        module = importlib.import_module(self.target)
        self.real_spec = module.__spec__
        return module

    def exec_module(self, module):
        # The module is rtensor's and already executed; the import system has
        # just stamped the alias's spec on it, so put rtensor's back.
        module.__spec__ = self.real_spec


class TheanoAliasFinder(importlib.abc.MetaPathFinder):
    """Finds `theano` and `theano.*` as the matching rtensor modules."""

    def find_spec(self, fullname, path=None, target=None):
        if fullname != ALIAS and not fullname.startswith(ALIAS + "."):
            return None
        real = target_name(fullname)
        try:
            found = importlib.util.find_spec(real)
        except ModuleNotFoundError:
            found = None
        if found is None:
            raise ModuleNotFoundError(
                f"No module named {fullname!r}: rtensor has no {real!r} to stand for it",
                name=fullname)
        is_package = found.submodule_search_locations is not None
        return importlib.machinery.ModuleSpec(fullname, _AliasLoader(real), is_package=is_package)


def install() -> None:
    """Puts the alias finder first on `sys.meta_path` (once)."""
    if not any(isinstance(f, TheanoAliasFinder) for f in sys.meta_path):
        sys.meta_path.insert(0, TheanoAliasFinder())


install()
