"""``rtensor.config``: the configuration flags (SPEC §1.3).

The values live in the Rust core; this module is a thin, typed view of them:

- ``config.floatX``, ``config.mode``... read and assign flags (booleans are
  Python ``bool``, ``gpuarray.preallocate`` a ``float``, the rest ``str``);
- dotted flags are reached through sections (``config.scan.allow_gc``,
  ``config.gpuarray.preallocate``) or with PyTensor's spelling
  (``config.scan__allow_gc``);
- ``config.warn.<anything> = x`` is accepted and ignored;
- ``change_flags(floatX='float32')`` changes flags for a ``with`` block or a
  decorated function and restores them afterwards.

Importing this module reads ``RTENSORRC`` (default ``~/.rtensorrc``) and
``RTENSOR_FLAGS`` once; a bad value raises ``ValueError``, an unknown flag
gives a ``UserWarning``.
"""

import functools
import warnings

from . import _core

__all__ = ["Config", "change_flags", "config"]

# Flags read back as Python bool / float; everything else is a str.
_BOOL_KEYS = frozenset(
    {
        "allow_gc",
        "scan.allow_gc",
        "force_device",
        "print_test_value",
        "profile",
        "openmp",
    }
)
_FLOAT_KEYS = frozenset({"gpuarray.preallocate"})

_MISSING = object()


def _canonical(key):
    """``scan__allow_gc`` -> ``scan.allow_gc``."""
    return key.replace("__", ".")


_KEYS = tuple(_core.config_keys())


def _keys():
    return _KEYS


def _find_sections():
    """Dotted prefixes that name a section: ``scan``, ``gpuarray``, ``warn``..."""
    out = {"warn"}
    for key in _KEYS:
        parts = key.split(".")
        for i in range(1, len(parts)):
            out.add(".".join(parts[:i]))
    return frozenset(out)


_SECTIONS = _find_sections()


def _to_str(value):
    if isinstance(value, bool):
        return "True" if value else "False"
    if value is None:
        return "None"
    if isinstance(value, float):
        return float.__repr__(value)
    return str(value)


def _from_str(key, raw):
    if key in _BOOL_KEYS:
        return raw == "True"
    if key in _FLOAT_KEYS:
        return float(raw)
    return raw


# Python-side values of `warn.*` keys (kept with their Python type) and of
# assignments to flags rtensor does not know (kept, with a warning, as Theano
# kept any attribute assigned to its config object).
_warn_values = {}
_extra_values = {}


def _get(key):
    key = _canonical(key)
    if key.startswith("warn."):
        value = _warn_values.get(key, _MISSING)
        if value is not _MISSING:
            return value
    if key in _extra_values:
        return _extra_values[key]
    return _from_str(key, _core.config_get(key))


def _set(key, value):
    key = _canonical(key)
    if key.startswith("warn.") and len(key) > len("warn."):
        _core.config_set(key, _to_str(value))
        _warn_values[key] = value
        return
    try:
        _core.config_set(key, _to_str(value))
    except AttributeError:
        if key in _SECTIONS:
            msg = f"Can't assign to the config section {key!r}"
            raise AttributeError(msg) from None
        warnings.warn(
            f"rtensor does not recognise this flag: {key}; "
            "the value is kept but has no effect",
            UserWarning,
            stacklevel=3,
        )
        _extra_values[key] = value


def _lookup(prefix, name):
    if name.startswith("_"):
        raise AttributeError(name)
    key = _canonical(prefix + name)
    if key in _SECTIONS:
        return _Section(key + ".")
    return _get(key)


class _Section:
    """A dotted section of the configuration: ``config.scan``, ``config.warn``..."""

    __slots__ = ("_prefix",)

    def __init__(self, prefix):
        object.__setattr__(self, "_prefix", prefix)

    def __getattr__(self, name):
        return _lookup(self._prefix, name)

    def __setattr__(self, name, value):
        if name.startswith("_"):
            raise AttributeError(name)
        _set(self._prefix + name, value)

    def __dir__(self):
        n = len(self._prefix)
        return sorted(
            {k[n:].split(".")[0] for k in _keys() if k.startswith(self._prefix)}
        )

    def __repr__(self):
        return f"<rtensor config section {self._prefix[:-1]!r}>"


class Config:
    """The type of ``rtensor.config``."""

    def __getattr__(self, name):
        return _lookup("", name)

    def __setattr__(self, name, value):
        if name.startswith("_"):
            object.__setattr__(self, name, value)
            return
        _set(name, value)

    def __dir__(self):
        names = {k.split(".")[0] for k in _keys()}
        names.add("warn")
        names.add("change_flags")
        return sorted(names)

    def __str__(self):
        lines = []
        for key in _keys():
            lines.append(f"{key} ({_core.config_get(key)!r})")
        return "\n".join(lines)

    def __repr__(self):
        return "<rtensor.config>"

    def __reduce__(self):
        # Pickled objects that refer to the config get the module's instance back.
        return (_get_config, ())


def _get_config():
    return config


class change_flags:
    """Change flags inside a ``with`` block or a decorated function.

    ``change_flags(floatX='float32', scan__allow_gc=True)`` or
    ``change_flags({'scan.allow_gc': True})``; the previous values are
    restored on exit, also when an exception leaves the block.
    """

    def __init__(self, args=(), **kwargs):
        new = dict(args)
        new.update(kwargs)
        self._new = {_canonical(k): v for k, v in new.items()}
        self._saved = []

    def __enter__(self):
        old = {}
        try:
            for key, value in self._new.items():
                old[key] = _saved_value(key)
                _set(key, value)
        except BaseException:
            _restore(old)
            raise
        self._saved.append(old)
        return self

    def __exit__(self, *exc):
        _restore(self._saved.pop())
        return False

    def __call__(self, f):
        @functools.wraps(f)
        def wrapper(*args, **kwargs):
            with self:
                return f(*args, **kwargs)

        return wrapper


def _saved_value(key):
    if key.startswith("warn.") or key in _extra_values:
        try:
            return _get(key)
        except AttributeError:
            return _MISSING
    return _get(key)


def _restore(old):
    for key, value in reversed(list(old.items())):
        if value is _MISSING:
            _warn_values.pop(key, None)
            _extra_values.pop(key, None)
        elif key in _extra_values:
            _extra_values[key] = value
        else:
            _set(key, value)


Config.change_flags = change_flags

config = Config()



def _init():
    for msg in _core.config_init():
        warnings.warn(msg, UserWarning, stacklevel=3)


_init()
