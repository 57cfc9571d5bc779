"""The old convolution interface, `theano.tensor.nnet.conv.conv2d`, on the
same op as `T.nnet.conv2d` (a true convolution, 'valid' or 'full')."""

from .abstract_conv import conv2d as _conv2d

__all__ = ["conv2d"]


def conv2d(input, filters, image_shape=None, filter_shape=None, border_mode="valid", subsample=(1, 1), **kargs):
    """Convolves 4-d `input` with 4-d `filters` (`border_mode` 'valid' or 'full')."""
    if border_mode not in ("valid", "full"):
        raise ValueError("conv.conv2d supports border_mode 'valid' and 'full', got %r" % (border_mode,))
    return _conv2d(input, filters, input_shape=image_shape, filter_shape=filter_shape, border_mode=border_mode,
                   subsample=subsample)
