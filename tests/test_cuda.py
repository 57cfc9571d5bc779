"""Device support (SPEC 8). Everything here must pass on a machine without a
GPU; the tests that need one are skipped there."""
import os
import subprocess
import sys
import textwrap

import numpy as np
import pytest

import rtensor as th

T = th.tensor

HAS_CUDA = bool(th.cuda.is_available())
ON_GPU = HAS_CUDA and str(getattr(th.config, "device", "cpu")).startswith("cuda")

needs_gpu = pytest.mark.skipif(not ON_GPU, reason="needs a CUDA device and RTENSOR_FLAGS=device=cuda")


def test_cuda_is_available_returns_a_bool_without_raising():
    result = th.cuda.is_available()
    assert isinstance(result, bool)
    assert th.cuda.is_available() is result


def test_default_device_flag_is_a_known_value():
    device = str(th.config.device)
    assert device == "cpu" or device.startswith("cuda") or device.startswith("opencl")


def test_transfer_to_cpu_is_identity_on_host_variables(rng):
    a = T.dmatrix("a")
    b = a.transfer("cpu")
    assert b.type == a.type
    value = rng.randn(2, 3)
    np.testing.assert_array_equal(b.eval({a: value}), value)
    assert th.printing.debugprint(b, file="str") == "a [id A]\n"


def test_transfer_to_an_unknown_target_raises_value_error():
    a = T.dmatrix("a")
    with pytest.raises(ValueError, match="Can't transfer to target nosuchdevice"):
        a.transfer("nosuchdevice")


def test_shared_with_cpu_target_is_a_host_tensor(rng):
    value = rng.rand(3, 3).astype("float32")
    s = th.shared(value, target="cpu")
    assert str(s.type) == "TensorType(float32, matrix)"
    np.testing.assert_array_equal(s.get_value(), value)


def test_shared_with_an_unknown_target_raises():
    with pytest.raises((TypeError, ValueError, KeyError)):
        th.shared(np.zeros(3, dtype="float32"), target="nosuchcontext")


@pytest.mark.skipif(HAS_CUDA, reason="checks the fallback of a machine without CUDA")
def test_device_cuda_without_a_gpu_falls_back_to_cpu_without_transfer_ops(tmp_path):
    script = textwrap.dedent("""
        import numpy as np
        import rtensor as th
        T = th.tensor
        a = T.fmatrix('a')
        f = th.function([a], a ** 2)
        v = np.arange(6, dtype='float32').reshape(2, 3)
        out = f(v)
        assert isinstance(out, np.ndarray), type(out)
        assert out.dtype == np.float32
        assert np.array_equal(out, v ** 2)
        text = th.printing.debugprint(f, file='str')
        assert 'Gpu' not in text and 'HostFromGpu' not in text, text
        print('OK')
    """)
    env = dict(os.environ)
    env["RTENSOR_FLAGS"] = "device=cuda"
    proc = subprocess.run([sys.executable, "-c", script], env=env, capture_output=True,
                          text=True, timeout=120, cwd=str(tmp_path))
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert proc.stdout.strip().endswith("OK")


# ---------------------------------------------------------------------------
# tests that need a GPU (device=cuda)
# ---------------------------------------------------------------------------

@needs_gpu
def test_gpu_square_function_matches_numpy_and_prints_transfers(rng):
    a = T.fmatrix("a")
    sq = th.function([a], a ** 2)
    value = rng.rand(64, 32).astype("float32")
    out = np.asarray(sq(value))
    assert out.dtype == np.float32
    np.testing.assert_allclose(out, value ** 2, rtol=1e-6)
    text = th.printing.debugprint(sq, file="str")
    lines = text.splitlines()
    assert lines[0].startswith("HostFromGpu(gpuarray) [id A] ''   ")
    assert "GpuFromHost<None>" in text
    assert lines[-1].strip() == "|a [id D]"


@needs_gpu
def test_gpu_explicit_transfer_drops_the_copy_back(rng):
    a = T.fmatrix("a")
    b = (a ** 2).transfer(None)
    sq = th.function([a], b)
    text = th.printing.debugprint(sq, file="str")
    assert "HostFromGpu" not in text
    assert "GpuFromHost<None>" in text
    value = rng.rand(4, 4).astype("float32")
    np.testing.assert_allclose(np.asarray(sq(value)), value ** 2, rtol=1e-6)


@needs_gpu
def test_gpu_transfer_none_prints_gpu_from_host():
    a = T.fmatrix()
    b = a.transfer(None)
    text = th.printing.debugprint(b, file="str")
    assert text == "GpuFromHost<None> [id A] ''   \n |<TensorType(float32, matrix)> [id B]\n"
    out = b.eval({a: np.ones((2, 2), dtype="float32")})
    np.testing.assert_array_equal(np.asarray(out), np.ones((2, 2)))


@needs_gpu
def test_gpu_shared_placement_keeps_scalars_on_the_host(rng):
    state = th.shared(0)
    assert str(state.type) == "TensorType(int64, scalar)"
    m = th.shared(rng.rand(8, 8).astype("float32"))
    assert str(m.type).startswith("GpuArrayType<None>(float32")
    np.testing.assert_array_equal(m.get_value().shape, (8, 8))
    c = th.shared(rng.rand(8, 8).astype("float32"), target="cpu")
    assert str(c.type) == "TensorType(float32, matrix)"


@needs_gpu
def test_gpu_shared_update_loop_matches_numpy(rng):
    w0 = rng.rand(16, 16).astype("float32")
    W = th.shared(w0, name="W")
    x = T.fmatrix("x")
    f = th.function([x], T.dot(x, W).sum(), updates=[(W, W * np.float32(0.5))])
    xv = rng.rand(4, 16).astype("float32")
    r1 = float(np.asarray(f(xv)))
    r2 = float(np.asarray(f(xv)))
    assert r1 == pytest.approx(float(xv.dot(w0).sum()), rel=1e-4)
    assert r2 == pytest.approx(float(xv.dot(w0 * 0.5).sum()), rel=1e-4)
    np.testing.assert_allclose(W.get_value(), w0 * 0.25, rtol=1e-6)
