"""The main job: the deep learning tutorials' logistic regression.

The digits data set (shipped with scikit-learn) lives in shared variables;
each minibatch is sliced out of them through `givens` from an index; the
model is softmax(xW + b), its cost the mean negative log-likelihood
`-mean(log(p)[arange(n), y])`, and the SGD `updates` come from `T.grad`.
Prints the compiled training function, the error per epoch, the time per
epoch and the final test error.
"""

import time

import numpy as np
from sklearn.datasets import load_digits

import rtensor as th

T = th.tensor
th.config.floatX = "float32"


def load():
    digits = load_digits()
    x = (digits.data / 16.0).astype(th.config.floatX)
    y = digits.target.astype("int32")
    order = np.random.default_rng(0).permutation(len(x))
    x, y = x[order], y[order]
    split = 1500
    return (x[:split], y[:split]), (x[split:], y[split:])


class LogisticRegression:
    """Multi-class logistic regression, as in the tutorial."""

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


def main():
    (train_x, train_y), (test_x, test_y) = load()
    batch_size, learning_rate, epochs = 50, 0.5, 20
    n_batches = len(train_x) // batch_size

    data_x = th.shared(train_x, name="data_x", borrow=True)
    data_y = th.shared(train_y, name="data_y", borrow=True)
    test_x_shared = th.shared(test_x, name="test_x", borrow=True)
    test_y_shared = th.shared(test_y, name="test_y", borrow=True)

    index = T.lscalar("index")
    x = T.matrix("x")
    y = T.ivector("y")
    classifier = LogisticRegression(x, n_in=64, n_out=10)
    cost = classifier.negative_log_likelihood(y)
    g_W, g_b = T.grad(cost, [classifier.W, classifier.b])

    train = th.function(
        [index], cost,
        updates=[(classifier.W, classifier.W - learning_rate * g_W),
                 (classifier.b, classifier.b - learning_rate * g_b)],
        givens={x: data_x[index * batch_size:(index + 1) * batch_size],
                y: data_y[index * batch_size:(index + 1) * batch_size]},
        name="train")
    test_error = th.function([], classifier.errors(y), givens={x: test_x_shared, y: test_y_shared},
                             name="test_error")

    print("The compiled training function (outputs, then update values):")
    th.printing.debugprint(train)
    print()
    start = time.perf_counter()
    for epoch in range(epochs):
        epoch_start = time.perf_counter()
        costs = [float(train(i)) for i in range(n_batches)]
        epoch_ms = (time.perf_counter() - epoch_start) * 1e3
        print("epoch %2d  training cost %.4f  test error %5.2f%%  (%.2f ms per epoch)"
              % (epoch + 1, np.mean(costs), 100 * float(test_error()), epoch_ms))
    total = time.perf_counter() - start
    print("\ntrained %d epochs of %d minibatches in %.3f s; final test error %.2f%%"
          % (epochs, n_batches, total, 100 * float(test_error())))


if __name__ == "__main__":
    main()
