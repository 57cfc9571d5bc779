"""Programs in the deep learning tutorials' style train on the digits data
(scikit-learn's 8x8 digits): logistic regression, an MLP and a small LeNet
reach under 10% test error; a denoising autoencoder's cost falls."""

import numpy as np
import pytest

import rtensor as th
import rtensor.tensor as T
from rtensor.tensor.shared_randomstreams import RandomStreams
from rtensor.tensor.signal import pool

sklearn = pytest.importorskip("sklearn.datasets")


@pytest.fixture(scope="module")
def digits():
    d = sklearn.load_digits()
    x = (d.data / 16.0).astype(th.config.floatX)
    y = d.target.astype("int32")
    order = np.random.RandomState(0).permutation(len(x))
    x, y = x[order], y[order]
    return (x[:1500], y[:1500]), (x[1500:], y[1500:])


class LogisticRegression:
    def __init__(self, input, n_in, n_out):
        self.W = th.shared(np.zeros((n_in, n_out), dtype=th.config.floatX), name="W", borrow=True)
        self.b = th.shared(np.zeros((n_out,), dtype=th.config.floatX), name="b", borrow=True)
        self.p_y_given_x = T.nnet.softmax(T.dot(input, self.W) + self.b)
        self.y_pred = T.argmax(self.p_y_given_x, axis=1)
        self.params = [self.W, self.b]

    def negative_log_likelihood(self, y):
        return -T.mean(T.log(self.p_y_given_x)[T.arange(y.shape[0]), y])

    def errors(self, y):
        return T.mean(T.neq(self.y_pred, y))


class HiddenLayer:
    def __init__(self, rng, input, n_in, n_out, activation=T.tanh):
        bound = np.sqrt(6.0 / (n_in + n_out))
        self.W = th.shared(rng.uniform(-bound, bound, (n_in, n_out)).astype(th.config.floatX), name="W", borrow=True)
        self.b = th.shared(np.zeros((n_out,), dtype=th.config.floatX), name="b", borrow=True)
        self.output = activation(T.dot(input, self.W) + self.b)
        self.params = [self.W, self.b]


class ConvPoolLayer:
    def __init__(self, rng, input, filter_shape, image_shape, poolsize=(2, 2)):
        fan_in = np.prod(filter_shape[1:])
        bound = np.sqrt(3.0 / fan_in)
        self.W = th.shared(rng.uniform(-bound, bound, filter_shape).astype(th.config.floatX), borrow=True)
        self.b = th.shared(np.zeros((filter_shape[0],), dtype=th.config.floatX), borrow=True)
        conv_out = T.nnet.conv2d(input=input, filters=self.W, filter_shape=filter_shape, input_shape=image_shape)
        pooled = pool.pool_2d(input=conv_out, ds=poolsize, ignore_border=True)
        self.output = T.tanh(pooled + self.b.dimshuffle("x", 0, "x", "x"))
        self.params = [self.W, self.b]


def train_classifier(digits, build, learning_rate, epochs, batch_size=50):
    (train_x, train_y), (test_x, test_y) = digits
    data_x = th.shared(train_x, borrow=True)
    data_y = th.shared(train_y, borrow=True)
    index = T.lscalar("index")
    x = T.matrix("x")
    y = T.ivector("y")
    classifier, params, extra_cost = build(x)
    cost = classifier.negative_log_likelihood(y) + extra_cost
    grads = T.grad(cost, params)
    train = th.function(
        [index], cost,
        updates=[(p, p - learning_rate * g) for p, g in zip(params, grads)],
        givens={x: data_x[index * batch_size:(index + 1) * batch_size],
                y: data_y[index * batch_size:(index + 1) * batch_size]})
    tx, ty = th.shared(test_x), th.shared(test_y)
    test = th.function([index], classifier.errors(y),
                       givens={x: tx[index * batch_size:(index + 1) * batch_size],
                               y: ty[index * batch_size:(index + 1) * batch_size]})
    n_batches = len(train_x) // batch_size
    first = None
    for _ in range(epochs):
        costs = [float(train(i)) for i in range(n_batches)]
        first = first if first is not None else np.mean(costs)
    test_error = np.mean([test(i) for i in range(len(test_x) // batch_size)])
    return float(test_error), first, np.mean(costs)


def test_logistic_regression_reaches_under_ten_percent_test_error(digits):
    def build(x):
        clf = LogisticRegression(x, 64, 10)
        return clf, clf.params, 0

    error, first, last = train_classifier(digits, build, learning_rate=0.5, epochs=15)
    assert last < first
    assert error < 0.10


def test_an_mlp_with_l2_reaches_under_ten_percent_test_error(digits):
    rng = np.random.RandomState(1234)

    def build(x):
        hidden = HiddenLayer(rng, x, 64, 50)
        clf = LogisticRegression(hidden.output, 50, 10)
        l2 = (hidden.W ** 2).sum() + (clf.W ** 2).sum()
        return clf, hidden.params + clf.params, 1e-4 * l2

    error, first, last = train_classifier(digits, build, learning_rate=0.1, epochs=15)
    assert last < first
    assert error < 0.10


def test_a_small_lenet_reaches_under_ten_percent_test_error(digits):
    rng = np.random.RandomState(23455)
    batch_size = 50

    def build(x):
        layer0_input = x.reshape((batch_size, 1, 8, 8))
        layer0 = ConvPoolLayer(rng, layer0_input, filter_shape=(8, 1, 3, 3), image_shape=(batch_size, 1, 8, 8))
        layer1 = HiddenLayer(rng, layer0.output.flatten(2), 8 * 3 * 3, 32)
        clf = LogisticRegression(layer1.output, 32, 10)
        return clf, layer0.params + layer1.params + clf.params, 0

    (train_x, train_y), (test_x, test_y) = digits
    n_test = (len(test_x) // batch_size) * batch_size
    digits = (train_x, train_y), (test_x[:n_test], test_y[:n_test])
    error, first, last = train_classifier(digits, build, learning_rate=0.1, epochs=12, batch_size=batch_size)
    assert last < first
    assert error < 0.10


def test_a_denoising_autoencoders_reconstruction_cost_falls(digits):
    (train_x, _), _ = digits
    rng = np.random.RandomState(123)
    theano_rng = RandomStreams(rng.randint(2 ** 30))
    n_visible, n_hidden, batch_size = 64, 32, 50
    bound = 4 * np.sqrt(6.0 / (n_hidden + n_visible))
    W = th.shared(rng.uniform(-bound, bound, (n_visible, n_hidden)).astype(th.config.floatX), name="W")
    b_hid = th.shared(np.zeros(n_hidden, dtype=th.config.floatX), name="b")
    b_vis = th.shared(np.zeros(n_visible, dtype=th.config.floatX), name="b_prime")
    data = th.shared(train_x, borrow=True)
    index = T.lscalar()
    x = T.matrix("x")
    corrupted = theano_rng.binomial(size=x.shape, n=1, p=1 - 0.3, dtype=th.config.floatX) * x
    hidden = T.nnet.sigmoid(T.dot(corrupted, W) + b_hid)
    z = T.nnet.sigmoid(T.dot(hidden, W.T) + b_vis)
    cost = T.mean(-T.sum(x * T.log(z) + (1 - x) * T.log(1 - z), axis=1))
    params = [W, b_hid, b_vis]
    grads = T.grad(cost, params)
    train = th.function([index], cost, updates=[(p, p - 0.1 * g) for p, g in zip(params, grads)],
                        givens={x: data[index * batch_size:(index + 1) * batch_size]})
    n_batches = len(train_x) // batch_size
    epoch_costs = [np.mean([train(i) for i in range(n_batches)]) for _ in range(8)]
    assert epoch_costs[-1] < epoch_costs[0] * 0.9
    assert all(np.isfinite(epoch_costs))
