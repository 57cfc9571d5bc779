"""The seed documents (shared/seeds/000, 001, 002 and the CPU parts of 004),
written the way legacy Theano programs write them."""
import re

import numpy
import numpy as np
import pytest

import rtensor as theano
import rtensor.tensor as T
from rtensor import function, shared


# ---------------------------------------------------------------------------
# Seed 000: givens={X: X[index:index+5]} compiles to the same graph as X[index:index+5]
# ---------------------------------------------------------------------------

# SPEC 7.3: (tree prefix + op + id, is an op line).  Op lines end in "''   <toposort index>".
SEED0_TREE = [
    ("DeepCopyOp [id A] ''   ", True),
    (" |Subtensor{int32:int32:} [id B] ''   ", True),
    ("   |X [id C]", False),
    ("   |ScalarFromTensor [id D] ''   ", True),
    ("   | |index [id E]", False),
    ("   |ScalarFromTensor [id F] ''   ", True),
    ("     |Elemwise{add,no_inplace} [id G] ''   ", True),
    ("       |TensorConstant{5} [id H]", False),
    ("       |index [id E]", False),
]


def _seed0_functions():
    X = theano.shared(np.arange(100), borrow=True, name='X')
    index = T.scalar(dtype='int32', name='index')
    X_slice = X[index:index + 5]
    get_tutorial = theano.function([index], X, givens={X: X[index:index + 5]},
                                   mode='DebugMode')
    get_nogivens = theano.function([index], X_slice, mode='DebugMode')
    return get_tutorial, get_nogivens


def _assert_seed0_tree(text):
    assert text.endswith("\n")
    lines = text.split("\n")[:-1]
    assert len(lines) == len(SEED0_TREE), text
    order = {}  # id letter -> toposort position
    for line, (head, is_op) in zip(lines, SEED0_TREE):
        if is_op:
            m = re.fullmatch(re.escape(head) + r"(\d+)", line)
            assert m, "line %r does not match %r" % (line, head)
            order[re.search(r"\[id (\w+)\]", head).group(1)] = int(m.group(1))
        else:
            assert line == head
    # toposort positions: a permutation of 0..4, every node after its inputs
    assert sorted(order.values()) == [0, 1, 2, 3, 4]
    assert order["G"] < order["F"] < order["B"] < order["A"]
    assert order["D"] < order["B"]


def test_seed0_givens_slice_of_shared_matches_direct_slice():
    get_tutorial, get_nogivens = _seed0_functions()
    data = np.arange(100)
    for i in [0, 3, 41, 95, 97]:
        a = get_tutorial(i)
        b = get_nogivens(i)
        np.testing.assert_array_equal(a, data[i:i + 5])
        np.testing.assert_array_equal(b, data[i:i + 5])
        assert a.dtype == np.int64 and b.dtype == np.int64


def test_seed0_both_functions_debugprint_identically():
    get_tutorial, get_nogivens = _seed0_functions()
    t1 = theano.printing.debugprint(get_tutorial, file='str')
    t2 = theano.printing.debugprint(get_nogivens, file='str')
    assert t1 == t2


def test_seed0_debugprint_follows_the_spec_tree():
    get_tutorial, get_nogivens = _seed0_functions()
    _assert_seed0_tree(theano.printing.debugprint(get_tutorial, file='str'))
    _assert_seed0_tree(theano.printing.debugprint(get_nogivens, file='str'))


def test_seed0_slice_expression_built_before_compiling_is_reusable():
    X = theano.shared(np.arange(100), borrow=True, name='X')
    index = T.scalar(dtype='int32', name='index')
    X_slice = X[index:index + 5]
    np.testing.assert_array_equal(X_slice.eval({index: np.int32(10)}), np.arange(10, 15))


# ---------------------------------------------------------------------------
# Seed 001: tutorial-style test_model / validate_model with minibatch givens
# ---------------------------------------------------------------------------

def _shared_dataset(data_xy, borrow=True):
    data_x, data_y = data_xy
    shared_x = theano.shared(numpy.asarray(data_x, dtype=theano.config.floatX), borrow=borrow)
    shared_y = theano.shared(numpy.asarray(data_y, dtype=theano.config.floatX), borrow=borrow)
    return shared_x, T.cast(shared_y, 'int32')


class _LinearClassifier(object):
    """A binary linear classifier (no softmax, no gradient)."""

    def __init__(self, input, n_in, rng):
        self.W_value = rng.randn(n_in).astype(theano.config.floatX)
        self.b_value = 0.1
        self.W = theano.shared(self.W_value, name='W', borrow=True)
        self.b = theano.shared(self.b_value, name='b')
        self.input = input
        self.y_pred = T.gt(T.dot(input, self.W) + self.b, 0)

    def errors(self, y):
        if y.ndim != self.y_pred.ndim:
            raise TypeError('y should have the same shape as self.y_pred')
        return T.mean(T.neq(self.y_pred, y))

    def numpy_errors(self, x, y):
        pred = (x.dot(self.W_value).astype(np.float64) + np.float64(self.b_value)) > 0
        return np.mean(pred != y)


def _make_sets(rng, n_in, n_rows):
    x = rng.randn(n_rows, n_in)
    y = (rng.rand(n_rows) > 0.5).astype('int32')
    return x, y


@pytest.mark.parametrize("floatX", ["float64", "float32"])
def test_seed1_test_model_and_validate_model_count_errors_per_minibatch(floatX, rng):
    theano.config.floatX = floatX
    n_in, batch_size = 6, 5
    test_xy = _make_sets(rng, n_in, 4 * batch_size)
    valid_xy = _make_sets(rng, n_in, 3 * batch_size)
    test_set_x, test_set_y = _shared_dataset(test_xy)
    valid_set_x, valid_set_y = _shared_dataset(valid_xy)

    index = T.lscalar()
    x = T.matrix('x')
    y = T.ivector('y')
    classifier = _LinearClassifier(input=x, n_in=n_in, rng=rng)

    test_model = theano.function(
        inputs=[index],
        outputs=classifier.errors(y),
        givens={
            x: test_set_x[index * batch_size: (index + 1) * batch_size],
            y: test_set_y[index * batch_size: (index + 1) * batch_size]})
    validate_model = theano.function(
        inputs=[index],
        outputs=classifier.errors(y),
        givens={
            x: valid_set_x[index * batch_size:(index + 1) * batch_size],
            y: valid_set_y[index * batch_size:(index + 1) * batch_size]})

    tx = np.asarray(test_xy[0], dtype=floatX)
    vx = np.asarray(valid_xy[0], dtype=floatX)
    for i in range(4):
        sl = slice(i * batch_size, (i + 1) * batch_size)
        got = test_model(i)
        assert isinstance(got, np.ndarray) and got.ndim == 0
        assert got.dtype == np.float64
        expected = classifier.numpy_errors(tx[sl], test_xy[1][sl])
        assert float(got) == pytest.approx(expected)
    for i in range(3):
        sl = slice(i * batch_size, (i + 1) * batch_size)
        expected = classifier.numpy_errors(vx[sl], valid_xy[1][sl])
        assert float(validate_model(i)) == pytest.approx(expected)

    mean_test = np.mean([test_model(i) for i in range(4)])
    assert mean_test == pytest.approx(classifier.numpy_errors(tx, test_xy[1]))


def test_seed1_givens_minibatch_equals_graph_built_on_the_slice(rng):
    n_in, batch_size = 4, 3
    data_x, data_y = _make_sets(rng, n_in, 4 * batch_size)
    set_x, set_y = _shared_dataset((data_x, data_y))
    index = T.lscalar('index')
    x = T.matrix('x')
    y = T.ivector('y')
    clf = _LinearClassifier(x, n_in, rng)

    with_givens = theano.function(
        [index], clf.errors(y),
        givens={x: set_x[index * batch_size:(index + 1) * batch_size],
                y: set_y[index * batch_size:(index + 1) * batch_size]})
    x_slice = set_x[index * batch_size:(index + 1) * batch_size]
    y_slice = set_y[index * batch_size:(index + 1) * batch_size]
    direct = theano.function(
        [index], T.mean(T.neq(T.gt(T.dot(x_slice, clf.W) + clf.b, 0), y_slice)))
    for i in range(4):
        assert float(with_givens(i)) == pytest.approx(float(direct(i)))


def test_seed1_sum_of_squares_of_linear_model_on_minibatches(rng):
    n_in, batch_size = 3, 4
    data_x = rng.randn(3 * batch_size, n_in)
    data_t = rng.randn(3 * batch_size)
    set_x = theano.shared(data_x, borrow=True)
    set_t = theano.shared(data_t, borrow=True)
    w_val = rng.randn(n_in)
    W = theano.shared(w_val, name='W')
    b = theano.shared(0.25, name='b')
    x = T.matrix('x')
    t = T.vector('t')
    cost = T.sum((T.dot(x, W) + b - t) ** 2)
    index = T.lscalar()
    f = theano.function([index], cost,
                        givens=[(x, set_x[index * batch_size:(index + 1) * batch_size]),
                                (t, set_t[index * batch_size:(index + 1) * batch_size])])
    for i in range(3):
        sl = slice(i * batch_size, (i + 1) * batch_size)
        expected = np.sum((data_x[sl].dot(w_val) + 0.25 - data_t[sl]) ** 2)
        assert float(f(i)) == pytest.approx(expected)
    # The data stays in the shared variables; updating them changes later minibatches.
    new_x = data_x * 2
    set_x.set_value(new_x)
    expected = np.sum((new_x[:batch_size].dot(w_val) + 0.25 - data_t[:batch_size]) ** 2)
    assert float(f(0)) == pytest.approx(expected)


# ---------------------------------------------------------------------------
# Seed 002: accumulator / decrementor / skip_shared
# ---------------------------------------------------------------------------

def _int0d(v):
    assert isinstance(v, np.ndarray), type(v)
    assert v.ndim == 0
    return int(v)


def test_seed2_accumulator_decrementor_and_skip_shared_follow_the_tutorial():
    state = shared(0)
    inc = T.iscalar('inc')
    accumulator = function([inc], state, updates=[(state, state + inc)])

    assert _int0d(state.get_value()) == 0
    assert state.get_value().dtype == np.int64
    assert _int0d(accumulator(1)) == 0
    assert _int0d(state.get_value()) == 1
    assert _int0d(accumulator(300)) == 1
    assert _int0d(state.get_value()) == 301

    state.set_value(-1)
    assert _int0d(accumulator(3)) == -1
    assert _int0d(state.get_value()) == 2

    decrementor = function([inc], state, updates=[(state, state - inc)])
    assert _int0d(decrementor(2)) == 2
    assert _int0d(state.get_value()) == 0

    fn_of_state = state * 2 + inc
    foo = T.lscalar()
    skip_shared = function([inc, foo], fn_of_state, givens=[(state, foo)])
    assert _int0d(skip_shared(1, 3)) == 7
    assert _int0d(state.get_value()) == 0
    assert _int0d(skip_shared(5, -4)) == -3
    assert _int0d(state.get_value()) == 0


def test_seed2_updates_in_dict_form_act_like_pairs():
    state = shared(0)
    inc = T.iscalar('inc')
    accumulator = function([inc], state, updates={state: state + inc})
    decrementor = function([inc], state, updates={state: state - inc})
    steps = [5, 7, -2]
    total = 0
    for s in steps:
        assert _int0d(accumulator(s)) == total
        total += s
    assert _int0d(state.get_value()) == total
    assert _int0d(decrementor(4)) == total
    assert _int0d(state.get_value()) == total - 4


def test_seed2_state_is_shared_between_functions_and_reset_by_set_value():
    state = shared(0)
    inc = T.iscalar('inc')
    acc = function([inc], state, updates=[(state, state + inc)])
    dec = function([inc], state, updates=[(state, state - inc)])
    acc(10)
    dec(3)
    assert _int0d(state.get_value()) == 7
    state.set_value(100)
    acc(1)
    assert _int0d(state.get_value()) == 101


# ---------------------------------------------------------------------------
# Seed 004, CPU parts
# ---------------------------------------------------------------------------

def test_seed4_floatX_float32_casting_with_asarray():
    theano.config.floatX = 'float32'
    assert theano.config.floatX == 'float32'
    arr = numpy.asarray(np.random.rand(3, 2), dtype=theano.config.floatX)
    assert arr.dtype == np.float32
    a = T.matrix()
    assert a.dtype == 'float32'
    f = theano.function([a], a * 2)
    out = f(arr)
    assert out.dtype == np.float32
    np.testing.assert_allclose(out, arr * 2, rtol=1e-6)


def test_seed4_transfer_to_cpu_evaluates_and_prints_as_the_input():
    theano.config.floatX = 'float32'
    a = T.matrix()
    b = a.transfer('cpu')
    value = numpy.ones((2, 2)).astype(theano.config.floatX) * 3
    out = b.eval({a: value})
    assert out.dtype == np.float32
    np.testing.assert_array_equal(out, value)
    assert theano.printing.debugprint(b, file='str') == '<TensorType(float32, matrix)> [id A]\n'


def test_seed4_squaring_function_runs_on_cpu():
    theano.config.floatX = 'float32'
    a = T.matrix('a')
    b = a ** 2
    sq = theano.function([a], b)
    value = numpy.asarray(np.random.rand(3, 4), dtype=theano.config.floatX)
    out = sq(value)
    assert out.dtype == np.float32
    np.testing.assert_allclose(out, value ** 2, rtol=1e-6)


def test_seed4_shared_zero_is_an_int64_scalar():
    state = shared(0)
    assert repr(state) == '<TensorType(int64, scalar)>'
    assert str(state) == '<TensorType(int64, scalar)>'
    v = state.get_value()
    assert isinstance(v, np.ndarray) and v.ndim == 0 and v.dtype == np.int64
    assert int(v) == 0
    state.set_value(1)
    v = state.get_value()
    assert v.dtype == np.int64 and int(v) == 1


def test_seed4_shared_with_cpu_target_stays_a_host_tensor():
    value = np.random.random((8, 8)).astype('float32')
    s = theano.shared(value, target='cpu')
    assert str(s.type) == 'TensorType(float32, matrix)'
    out = s.get_value()
    assert out.dtype == np.float32
    np.testing.assert_array_equal(out, value)
    f = theano.function([], s.sum())
    assert float(f()) == pytest.approx(float(value.sum()), rel=1e-5)
