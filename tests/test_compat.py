"""The Theano compatibility entry points: `import rtensor.compat.theano` and
`python -m rtensor.run script.py`."""

import importlib
import os
import subprocess
import sys

import pytest

import rtensor

HERE = os.path.dirname(__file__)


@pytest.fixture
def theano():
    import rtensor.compat.theano  # noqa: F401

    return importlib.import_module("theano")


def test_theano_is_rtensor_after_the_compat_import(theano):
    assert theano is rtensor
    import theano.tensor as T

    assert T is rtensor.tensor
    assert theano.config is rtensor.config


def test_theano_submodules_are_rtensor_submodules(theano):
    import theano.printing
    import theano.tensor.basic

    assert theano.printing is rtensor.printing
    assert sys.modules["theano.tensor.basic"] is rtensor.tensor.basic


def test_from_imports_of_theano_names_work(theano):
    from theano import function, shared
    from theano.tensor import dmatrix

    assert function is rtensor.function and shared is rtensor.shared
    assert dmatrix is rtensor.tensor.dmatrix


def test_the_alias_keeps_rtensor_module_specs(theano):
    import theano.tensor  # noqa: F401

    assert rtensor.__spec__.name == "rtensor"
    assert rtensor.tensor.__spec__.name == "rtensor.tensor"


def test_a_missing_theano_module_names_both_names(theano):
    with pytest.raises(ModuleNotFoundError, match="theano.no_such_module.*rtensor.no_such_module"):
        importlib.import_module("theano.no_such_module")


def test_config_warn_flags_are_accepted_and_ignored(theano):
    theano.config.warn.sum_div_dimshuffle_bug = False
    theano.config.warn.some_flag_theano_never_had = True


def run_program(name, *args):
    env = dict(os.environ)
    return subprocess.run([sys.executable, "-m", "rtensor.run", os.path.join(HERE, "theano_programs", name), *args],
                          capture_output=True, text=True, env=env, timeout=300)


def test_rtensor_run_trains_an_unmodified_theano_program():
    done = run_program("least_squares.py")
    assert done.returncode == 0, done.stderr
    assert "weights match: True" in done.stdout
    # The program printed its compiled graph through theano.printing.
    assert "DeepCopyOp" in done.stdout or "Elemwise" in done.stdout


def test_rtensor_run_trains_the_tutorials_logistic_regression_unmodified():
    pytest.importorskip("sklearn")
    done = run_program("logistic_sgd.py")
    assert done.returncode == 0, done.stdout + done.stderr
    assert "test error" in done.stdout


def test_rtensor_run_without_a_script_prints_usage():
    done = subprocess.run([sys.executable, "-m", "rtensor.run"], capture_output=True, text=True, timeout=60)
    assert done.returncode == 2
    assert "rtensor.run" in done.stdout
