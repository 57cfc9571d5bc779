"""`scan` (Theano's `theano.scan`, SPEC §4): loops as graph nodes.

The step function is called once, on placeholder variables of one step's
type; what it returns (outputs, an updates dict, an `until` condition) is
handed to the core, which checks it, finds the shared variables it uses and
makes one Scan node. The loop itself runs in Rust.
"""

from __future__ import annotations

import math
import numbers
from collections.abc import Mapping

from .. import _core
from ..graph import wrap
from ..tensor.var import as_tensor_variable
from ..updates import OrderedUpdates


class until:
    """`return outputs, until(cond)`: stop the loop after the step where
    `cond` (a scalar) is true."""

    def __init__(self, condition):
        self.condition = as_tensor_variable(condition)
        if self.condition.ndim != 0:
            raise TypeError("until expects a scalar condition, got %s of type %s"
                            % (self.condition, self.condition.type))


def _list(x):
    if x is None:
        return []
    if isinstance(x, (list, tuple)):
        return list(x)
    return [x]


def _as_var(x):
    return x if isinstance(x, _core.Var) else as_tensor_variable(x)


# -- what the step function returned ------------------------------------------

_BAD_RETURN = ("The return value of your scan lambda expression may only be made of lists, tuples, or "
               "dictionaries containing rtensor variables (or `rtensor.scan_module.until` objects for "
               "conditions). In particular if you need to use constant values, you can use "
               "`tensor.constant` to turn them into rtensor variables.")


def _allowed(x):
    if isinstance(x, (list, tuple)):
        return all(_allowed(y) for y in x)
    if isinstance(x, Mapping):
        return all(_allowed(k) and _allowed(v) for k, v in x.items())
    return isinstance(x, (_core.Var, until))


def _is_outputs(x):
    if isinstance(x, _core.Var):
        return True
    return isinstance(x, (list, tuple)) and all(isinstance(y, _core.Var) for y in x)


def _is_updates(x):
    if isinstance(x, Mapping):
        return True
    return (isinstance(x, (list, tuple)) and len(x) > 0
            and all(isinstance(p, (list, tuple)) and len(p) == 2
                    and all(isinstance(y, _core.Var) for y in p) for p in x))


def _pairs(x):
    return list(x.items()) if isinstance(x, Mapping) else [tuple(p) for p in x]


def _parse_return(ret):
    """(condition, outputs, update pairs) from the step function's return
    value: outputs, an updates dict (or pairs), an `until`, or a tuple of
    these, each at most once, in any order."""
    if not _allowed(ret):
        raise ValueError(_BAD_RETURN)
    if _is_outputs(ret):
        return None, _list(ret), []
    if _is_updates(ret):
        return None, [], _pairs(ret)
    if isinstance(ret, until):
        return ret.condition, [], []
    if isinstance(ret, (list, tuple)) and 2 <= len(ret) <= 3:
        cond = outs = upd = None
        for part in ret:
            if isinstance(part, until) and cond is None:
                cond = part.condition
            elif _is_outputs(part) and outs is None:
                outs = _list(part)
            elif _is_updates(part) and upd is None:
                upd = _pairs(part)
            else:
                break
        else:
            return cond, outs or [], upd or []
    raise ValueError("Scan cannot parse the return value of your lambda expression, which is: %s" % (ret,))


# -- arguments ----------------------------------------------------------------

def _sequences(sequences):
    specs = []
    for s in _list(sequences):
        if isinstance(s, Mapping):
            if "input" not in s:
                raise ValueError("A sequence given as a dict needs an 'input' entry", s)
            taps = s.get("taps", [0])
            taps = [0] if taps is None else _list(taps)
            specs.append((_as_var(s["input"]), [int(t) for t in taps]))
        else:
            specs.append((_as_var(s), [0]))
    return specs


def _outputs_info(outputs_info):
    specs = []
    for o in _list(outputs_info):
        if o is None:
            specs.append(None)
        elif isinstance(o, Mapping):
            if o.get("return_steps") is not None:
                raise ValueError("Using `return_steps` has been deprecated. Simply select the entries you need "
                                 "using a subtensor. Scan will optimize memory consumption, so do not worry "
                                 "about that.")
            initial, taps = o.get("initial"), o.get("taps")
            if initial is None:
                if taps:
                    raise ValueError("If you are using slices of an output you need to provide a initial "
                                     "state for it", o)
                specs.append(None)
            else:
                taps = [-1] if taps is None else _list(taps)
                specs.append((_as_var(initial), [int(t) for t in taps]))
        else:
            specs.append((_as_var(o), [-1]))
    return specs


def _n_steps(n_steps):
    """None, or an integer scalar variable (Python numbers become constants;
    NaN and infinity mean no limit, as in Theano)."""
    if n_steps is None or isinstance(n_steps, _core.Var):
        return n_steps
    if isinstance(n_steps, float):
        if math.isnan(n_steps) or math.isinf(n_steps):
            return None
        if not n_steps.is_integer():
            raise ValueError(" n_steps must be an int. dtype provided is float64 (n_steps=%r)" % n_steps)
        n_steps = int(n_steps)
    if not isinstance(n_steps, numbers.Integral):
        raise ValueError(" n_steps must be an int, got %r" % (n_steps,))
    return wrap(_core.constant(int(n_steps), None, "int64"))


def _mode_name(mode):
    if mode is None or isinstance(mode, str):
        return mode
    return getattr(mode, "name", None) or type(mode).__name__


def scan(fn, sequences=None, outputs_info=None, non_sequences=None, n_steps=None, truncate_gradient=-1,
         go_backwards=False, mode=None, name=None, profile=False, allow_gc=None, strict=False,
         return_list=False):
    """Loops `fn` over `sequences` (Theano's `theano.scan`).

    `fn` gets, in order: each sequence's rows at its taps, each fed-back
    output's past values at its taps, then the `non_sequences`; it returns
    the step's outputs (one per `outputs_info` entry; `None` entries are not
    fed back), optionally an updates dict and an `until(condition)`.

    Returns `(outputs, updates)`: the outputs stacked over the steps (the
    initial states left out; one variable, or a list with `return_list` or
    several outputs), and an `OrderedUpdates` to pass to `function`.
    """
    seqs = _sequences(sequences)
    outs = _outputs_info(outputs_info)
    non_seqs = [_as_var(x) for x in _list(non_sequences)]
    steps = _n_steps(n_steps)
    seq_inner, out_inner = _core.scan_step_inputs(seqs, outs, steps is not None)
    args = [wrap(v) for vs in seq_inner for v in vs]
    args += [wrap(v) for vs in out_inner for v in vs]
    args += non_seqs
    condition, step_outputs, updates = _parse_return(fn(*args))
    step_outputs = [_as_var(o) for o in step_outputs]
    if not outs:
        outs = [None] * len(step_outputs)
        out_inner = [[] for _ in outs]
    elif len(step_outputs) != len(outs):
        raise ValueError("Please provide None as outputs_info for any output that does not feed back into scan "
                         "(i.e. it behaves like a map) (the step function returned %d outputs for %d "
                         "outputs_info entries)" % (len(step_outputs), len(outs)))
    update_pairs = []
    for target, value in updates:
        if not isinstance(target, _core.Var):
            raise TypeError("update target must be a SharedVariable", target)
        update_pairs.append((target, _as_var(value)))
    results, carried = _core.scan_build(
        seqs, outs, seq_inner, out_inner, non_seqs, steps, step_outputs, update_pairs, condition,
        bool(go_backwards), int(truncate_gradient), name, _mode_name(mode), allow_gc, bool(strict))
    update_map = OrderedUpdates()
    for target, value in carried:
        update_map[wrap(target)] = wrap(value)
    results = [wrap(r) for r in results]
    if return_list:
        return results, update_map
    if len(results) == 1:
        return results[0], update_map
    if not results:
        return None, update_map
    return results, update_map
