"""Shared pytest setup for the rtensor specification tests.

Every test starts from the documented defaults (floatX=float64,
cast_policy=custom, on_unused_input=raise) whatever RTENSOR_FLAGS says, and
the flags a test changes (e.g. ``th.config.floatX = 'float32'`` in the seed-4
example) are restored afterwards.
"""
import numpy as np
import pytest

import rtensor as th

_DEFAULTS = {
    "floatX": "float64",
    "cast_policy": "custom",
    "on_unused_input": "raise",
}


@pytest.fixture(autouse=True)
def restore_config_flags():
    saved = {}
    for key, default in _DEFAULTS.items():
        try:
            saved[key] = getattr(th.config, key)
        except AttributeError:
            continue
        setattr(th.config, key, default)
    yield
    for key, value in saved.items():
        setattr(th.config, key, value)


@pytest.fixture
def rng():
    return np.random.RandomState(20240601)
