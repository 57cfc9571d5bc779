"""SPEC §1.3 (flags) and the flag parts of §8, through the Python API."""

import os
import subprocess
import sys
import textwrap

import pytest

import rtensor as th
from rtensor import _core
from rtensor.configparser import change_flags as configparser_change_flags

config = th.config

NOT_SETTABLE = "Can't change the value of this config parameter after initialization!"


@pytest.fixture(autouse=True)
def restore_flags():
    """Put back every flag a test changed, so tests don't leak into each other."""
    before = {k: _core.config_get(k) for k in _core.config_keys()}
    yield
    for key, value in before.items():
        if _core.config_get(key) != value:
            _core.config_set(key, value)


# ---------------------------------------------------------------------------
# Helpers for flags read at import time: a fresh interpreter per case.
# ---------------------------------------------------------------------------


def run_python(tmp_path, code, flags=None, rc_paths=None, home=None):
    env = dict(os.environ)
    for var in ("RTENSOR_FLAGS", "RTENSORRC", "PYTHONWARNINGS"):
        env.pop(var, None)
    env["HOME"] = str(home if home is not None else tmp_path)
    if flags is not None:
        env["RTENSOR_FLAGS"] = flags
    if rc_paths is not None:
        env["RTENSORRC"] = os.pathsep.join(str(p) for p in rc_paths)
    return subprocess.run(
        [sys.executable, "-W", "default", "-c", textwrap.dedent(code)],
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )


def print_flags(tmp_path, *names, **kwargs):
    """Import rtensor in a subprocess and return the repr of each flag."""
    code = "import rtensor\n" + "".join(
        f"print(repr(rtensor.config.{n}))\n" for n in names
    )
    res = run_python(tmp_path, code, **kwargs)
    assert res.returncode == 0, res.stderr
    return res.stdout.split("\n")[: len(names)], res.stderr


# ---------------------------------------------------------------------------
# Defaults and types
# ---------------------------------------------------------------------------


def test_defaults_in_a_clean_environment(tmp_path):
    names = [
        "floatX",
        "device",
        "force_device",
        "contexts",
        "gpuarray.preallocate",
        "mode",
        "optimizer",
        "allow_gc",
        "scan.allow_gc",
        "on_unused_input",
        "cast_policy",
        "warn_float64",
        "exception_verbosity",
    ]
    out, err = print_flags(tmp_path, *names)
    assert out == [
        "'float64'",
        "'cpu'",
        "False",
        "''",
        "0.0",
        "'Mode'",
        "'o4'",
        "True",
        "False",
        "'raise'",
        "'custom'",
        "'ignore'",
        "'low'",
    ]
    assert "UserWarning" not in err


def test_types():
    assert isinstance(config.floatX, str)
    assert isinstance(config.allow_gc, bool)
    assert isinstance(config.scan.allow_gc, bool)
    assert isinstance(config.force_device, bool)
    assert isinstance(config.gpuarray.preallocate, float)
    assert isinstance(config.mode, str)


def test_keys_listed():
    keys = set(_core.config_keys())
    for k in [
        "floatX",
        "device",
        "force_device",
        "contexts",
        "gpuarray.preallocate",
        "mode",
        "optimizer",
        "allow_gc",
        "scan.allow_gc",
        "on_unused_input",
        "cast_policy",
        "warn_float64",
        "exception_verbosity",
    ]:
        assert k in keys
    assert "floatX" in dir(config)
    assert "allow_gc" in dir(config.scan)


# ---------------------------------------------------------------------------
# Assignment
# ---------------------------------------------------------------------------


def test_set_floatX():
    config.floatX = "float32"
    assert config.floatX == "float32"
    assert _core.config_get("floatX") == "float32"
    config.floatX = "float16"
    assert config.floatX == "float16"
    config.floatX = "float64"
    assert config.floatX == "float64"


def test_set_floatX_changes_unprefixed_constructors():
    if not hasattr(th, "tensor") or not hasattr(th.tensor, "matrix"):
        pytest.skip("rtensor.tensor not available")
    config.floatX = "float32"
    assert th.tensor.matrix().dtype == "float32"
    config.floatX = "float64"
    assert th.tensor.matrix().dtype == "float64"


def test_invalid_value_raises_value_error():
    old = config.floatX
    with pytest.raises(ValueError) as info:
        config.floatX = "float8"
    msg = str(info.value)
    assert 'Invalid value ("float8") for configuration variable "floatX"' in msg
    assert "Valid options are (" in msg
    assert config.floatX == old


@pytest.mark.parametrize(
    "name, value",
    [
        ("mode", "FAST"),
        ("optimizer", "o5"),
        ("on_unused_input", "loud"),
        ("cast_policy", "numpy"),
        ("warn_float64", "yes"),
        ("exception_verbosity", "medium"),
        ("allow_gc", "maybe"),
    ],
)
def test_invalid_values(name, value):
    with pytest.raises(ValueError, match=f'configuration variable "{name}"'):
        setattr(config, name, value)


@pytest.mark.parametrize(
    "name, value",
    [
        ("mode", "FAST_COMPILE"),
        ("mode", "DebugMode"),
        ("mode", "FAST_RUN"),
        ("optimizer", "fast_compile"),
        ("optimizer", None),
        ("on_unused_input", "ignore"),
        ("on_unused_input", "warn"),
        ("cast_policy", "numpy+floatX"),
        ("warn_float64", "raise"),
        ("exception_verbosity", "high"),
    ],
)
def test_settable_flags(name, value):
    setattr(config, name, value)
    expected = "None" if value is None else value
    assert getattr(config, name) == expected


def test_bool_flags():
    config.allow_gc = False
    assert config.allow_gc is False
    config.allow_gc = True
    assert config.allow_gc is True
    config.allow_gc = 0
    assert config.allow_gc is False
    config.allow_gc = "True"
    assert config.allow_gc is True


@pytest.mark.parametrize(
    "name, value",
    [
        ("device", "cpu"),
        ("device", "cuda0"),
        ("force_device", True),
        ("contexts", "dev0->cuda0"),
    ],
)
def test_not_settable_after_import(name, value):
    phrase = "Can't change the value of this config parameter"
    with pytest.raises(Exception, match=phrase) as info:
        setattr(config, name, value)
    assert str(info.value) == NOT_SETTABLE
    assert not isinstance(info.value, (ValueError, AttributeError))


def test_preallocate_not_settable():
    with pytest.raises(Exception, match="after initialization"):
        config.gpuarray.preallocate = 0.5
    with pytest.raises(Exception, match="after initialization"):
        config.gpuarray__preallocate = 0.5
    assert isinstance(config.gpuarray.preallocate, float)


def test_unknown_flag_reads_raise_attribute_error():
    with pytest.raises(AttributeError):
        config.no_such_flag
    assert not hasattr(config, "no_such_flag")
    with pytest.raises(AttributeError):
        config.scan.no_such_flag


# ---------------------------------------------------------------------------
# Dotted sections
# ---------------------------------------------------------------------------


def test_scan_allow_gc_both_spellings():
    config.scan.allow_gc = True
    assert config.scan.allow_gc is True
    assert config.scan__allow_gc is True
    config.scan__allow_gc = False
    assert config.scan.allow_gc is False
    assert config.scan__allow_gc is False
    config.scan__allow_gc = True
    assert config.scan.allow_gc is True
    assert _core.config_get("scan.allow_gc") == "True"


def test_warn_assignments_accepted_and_ignored():
    config.warn.sum_div_dimshuffle_bug = False
    config.warn.ignore_bug_before = "all"
    config.warn__subtensor_merge_bug = False
    assert config.warn.sum_div_dimshuffle_bug is False
    assert config.warn.ignore_bug_before == "all"


# ---------------------------------------------------------------------------
# change_flags
# ---------------------------------------------------------------------------


def test_change_flags_is_exported():
    assert th.change_flags is configparser_change_flags


def test_change_flags_context_manager():
    config.floatX = "float64"
    with th.change_flags(floatX="float32", allow_gc=False):
        assert config.floatX == "float32"
        assert config.allow_gc is False
    assert config.floatX == "float64"
    assert config.allow_gc is True


def test_change_flags_restores_on_exception():
    config.floatX = "float64"
    with pytest.raises(RuntimeError):
        with th.change_flags(floatX="float16"):
            assert config.floatX == "float16"
            raise RuntimeError("boom")
    assert config.floatX == "float64"


def test_change_flags_nested():
    config.floatX = "float64"
    with th.change_flags(floatX="float32"):
        with th.change_flags(floatX="float16"):
            assert config.floatX == "float16"
        assert config.floatX == "float32"
    assert config.floatX == "float64"


def test_change_flags_decorator():
    config.floatX = "float64"
    seen = []

    @th.change_flags(floatX="float32")
    def f(depth):
        seen.append(config.floatX)
        config.floatX = "float16"  # changed inside: restored too
        if depth:
            f(depth - 1)
        return depth

    assert f.__name__ == "f"
    assert f(2) == 2
    assert seen == ["float32"] * 3
    assert config.floatX == "float64"
    f(0)
    assert config.floatX == "float64"


def test_change_flags_dotted_keys():
    config.scan.allow_gc = False
    with th.change_flags(scan__allow_gc=True):
        assert config.scan.allow_gc is True
    assert config.scan.allow_gc is False
    with th.change_flags({"scan.allow_gc": True}):
        assert config.scan__allow_gc is True
    assert config.scan.allow_gc is False


def test_change_flags_bad_value_restores_earlier_changes():
    config.floatX = "float64"
    with pytest.raises(ValueError):
        with th.change_flags(floatX="float32", mode="NOT_A_MODE"):
            pass
    assert config.floatX == "float64"
    assert config.mode == "Mode"


def test_change_flags_not_settable():
    with pytest.raises(Exception, match="after initialization"):
        with th.change_flags(device="cpu"):
            pass


def test_config_change_flags_method():
    config.floatX = "float64"
    with config.change_flags(floatX="float32"):
        assert config.floatX == "float32"
    assert config.floatX == "float64"


# ---------------------------------------------------------------------------
# RTENSOR_FLAGS and rc files (read at import: subprocesses)
# ---------------------------------------------------------------------------


def test_rtensor_flags(tmp_path):
    out, err = print_flags(
        tmp_path,
        "floatX",
        "scan.allow_gc",
        "scan__allow_gc",
        "gpuarray.preallocate",
        "allow_gc",
        flags=(
            "floatX=float32,scan.allow_gc=True,gpuarray.preallocate=0.8,"
            "allow_gc=False"
        ),
    )
    assert out == ["'float32'", "True", "True", "0.8", "False"]
    assert "UserWarning" not in err


def test_rtensor_flags_device(tmp_path):
    out, _ = print_flags(
        tmp_path, "device", "floatX", flags="floatX=float32,device=cuda0"
    )
    assert out == ["'cuda0'", "'float32'"]


def test_rtensor_flags_pytensor_spelling(tmp_path):
    out, err = print_flags(tmp_path, "scan.allow_gc", flags="scan__allow_gc=True")
    assert out == ["True"]
    assert "UserWarning" not in err


def test_rtensor_flags_later_duplicates_win(tmp_path):
    out, _ = print_flags(tmp_path, "floatX", flags="floatX=float16,floatX=float32")
    assert out == ["'float32'"]


def test_rtensor_flags_entry_without_equals_warns(tmp_path):
    out, err = print_flags(tmp_path, "floatX", flags="floatX=float32,justakey")
    assert out == ["'float32'"]
    assert "UserWarning" in err
    assert "justakey" in err


def test_unknown_flag_warns(tmp_path):
    out, err = print_flags(tmp_path, "floatX", flags="foo=1,floatX=float32")
    assert out == ["'float32'"]
    assert "UserWarning" in err
    assert "does not recognise this flag: foo" in err


def test_invalid_value_at_import(tmp_path):
    res = run_python(tmp_path, "import rtensor", flags="floatX=float8")
    assert res.returncode != 0
    assert "ValueError" in res.stderr
    assert 'Invalid value ("float8") for configuration variable "floatX"' in res.stderr


@pytest.mark.parametrize("device", ["gpu", "gpu0"])
def test_gpu_device_is_value_error(tmp_path, device):
    res = run_python(tmp_path, "import rtensor", flags=f"device={device}")
    assert res.returncode != 0
    assert "ValueError" in res.stderr
    assert "old GPU back-end" in res.stderr


def test_bad_device_is_value_error(tmp_path):
    res = run_python(tmp_path, "import rtensor", flags="device=tpu0")
    assert res.returncode != 0
    assert "ValueError" in res.stderr
    assert 'configuration variable "device"' in res.stderr


def test_contexts(tmp_path):
    out, _ = print_flags(tmp_path, "contexts", flags="contexts=dev0->cuda0;dev1->cuda1")
    assert out == ["'dev0->cuda0;dev1->cuda1'"]
    res = run_python(tmp_path, "import rtensor", flags="contexts=cuda0->cuda0")
    assert res.returncode != 0
    assert "ValueError: Cannot use cuda0 as context name" in res.stderr
    res = run_python(tmp_path, "import rtensor", flags="contexts=dev0:cuda0")
    assert res.returncode != 0
    assert "ValueError: Malformed context map" in res.stderr


def test_preallocate_values(tmp_path):
    for value, expected in [("-1", "-1.0"), ("0.5", "0.5"), ("1024", "1024.0")]:
        out, _ = print_flags(
            tmp_path, "gpuarray.preallocate", flags=f"gpuarray.preallocate={value}"
        )
        assert out == [expected]
    res = run_python(tmp_path, "import rtensor", flags="gpuarray.preallocate=lots")
    assert res.returncode != 0
    assert "ValueError" in res.stderr


RC = """\
# an rc file
[global]
floatX = float32
allow_gc = False
optimizer = fast_compile

[scan]
allow_gc = True

[gpuarray]
preallocate = 0.25
"""


def test_rc_file(tmp_path):
    rc = tmp_path / "rc"
    rc.write_text(RC)
    out, err = print_flags(
        tmp_path,
        "floatX",
        "allow_gc",
        "optimizer",
        "scan.allow_gc",
        "gpuarray.preallocate",
        rc_paths=[rc],
    )
    assert out == ["'float32'", "False", "'fast_compile'", "True", "0.25"]
    assert "UserWarning" not in err


def test_default_rc_file_in_home(tmp_path):
    (tmp_path / ".rtensorrc").write_text("[global]\nfloatX = float16\n")
    out, _ = print_flags(tmp_path, "floatX", home=tmp_path)
    assert out == ["'float16'"]


def test_environment_beats_rc_file(tmp_path):
    rc = tmp_path / "rc"
    rc.write_text(RC)
    out, _ = print_flags(
        tmp_path,
        "floatX",
        "scan.allow_gc",
        "allow_gc",
        rc_paths=[rc],
        flags="floatX=float64,scan.allow_gc=False",
    )
    # from the environment, the environment, the rc file
    assert out == ["'float64'", "False", "False"]


def test_rc_path_list_later_files_win(tmp_path):
    rc1 = tmp_path / "rc1"
    rc1.write_text("[global]\nfloatX = float32\nmode = FAST_COMPILE\n")
    rc2 = tmp_path / "rc2"
    rc2.write_text("[global]\nfloatX = float16\n")
    missing = tmp_path / "missing"
    out, _ = print_flags(tmp_path, "floatX", "mode", rc_paths=[rc1, missing, rc2])
    assert out == ["'float16'", "'FAST_COMPILE'"]


def test_invalid_rc_value_at_import(tmp_path):
    rc = tmp_path / "rc"
    rc.write_text("[global]\nfloatX = float8\n")
    res = run_python(tmp_path, "import rtensor", rc_paths=[rc])
    assert res.returncode != 0
    assert "ValueError" in res.stderr
