"""`theano.tensor.blas`: the BLAS updates the `gemm` rewrite makes from sums
of `dot`s in FAST_RUN, and the `Dot22`/`Dot22Scalar` products it leaves.
Building them by hand is rarely needed; they are here for tests and for
graphs written against Theano's names."""
from __future__ import annotations

from .. import _core
from ..graph import wrap
from .var import as_tensor_variable


def gemm_no_inplace(z, a, x, y, b):
    """`Gemm{no_inplace}(z, a, x, y, b)`: `b * z + a * dot(x, y)` for
    matrices `z`, `x`, `y` of one float dtype and 0-d float scales `a`, `b`."""
    args = [as_tensor_variable(v) for v in (z, a, x, y, b)]
    return wrap(_core.blas_update("gemm", args))


def gemv_no_inplace(y, alpha, A, x, beta):
    """`Gemv{no_inplace}(y, alpha, A, x, beta)`: `beta * y + alpha * dot(A, x)`
    for vectors `y`, `x` and a matrix `A` of one float dtype."""
    args = [as_tensor_variable(v) for v in (y, alpha, A, x, beta)]
    return wrap(_core.blas_update("gemv", args))


def _dot22(x, y):
    """`Dot22(x, y)`: `dot(x, y)` of two matrices of one float dtype."""
    args = [as_tensor_variable(v) for v in (x, y)]
    return wrap(_core.blas_update("dot22", args))


def _dot22scalar(x, y, a):
    """`Dot22Scalar(x, y, a)`: `a * dot(x, y)` of two matrices of one float
    dtype and a 0-d float scale."""
    args = [as_tensor_variable(v) for v in (x, y, a)]
    return wrap(_core.blas_update("dot22scalar", args))


gemm = gemm_no_inplace
gemv = gemv_no_inplace

__all__ = ["gemm_no_inplace", "gemv_no_inplace", "_dot22", "_dot22scalar"]
