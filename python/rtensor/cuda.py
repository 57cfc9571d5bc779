"""CUDA devices: probed without ever failing on a machine without one."""

from . import _core


def is_available():
    """True when a CUDA device (driver, NVRTC and cuBLAS) can be used."""
    return bool(_core.cuda_available())


def unavailable_reason():
    """Why CUDA cannot be used, or None when it can."""
    return _core.cuda_unavailable_reason()
