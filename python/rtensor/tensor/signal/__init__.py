"""`T.signal`: signal-processing ops (`pool`)."""

from . import pool  # noqa: F401
