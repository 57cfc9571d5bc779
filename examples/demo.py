"""The main job: a Theano-tutorial style training run.

The digits data set (shipped with scikit-learn) lives in shared variables;
each minibatch is sliced out of them through `givens` from an index, and
the weights are trained by SGD `updates`. The model is a linear classifier
fitted by least squares to one-hot targets, with its gradient written out
by hand (2/n · xᵀ(xW + b − y)), so that only the core's ops are used.
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
    rng = np.random.default_rng(0)
    order = rng.permutation(len(x))
    x, y = x[order], y[order]
    onehot = np.eye(10, dtype=th.config.floatX)[y]
    split = 1500
    return (x[:split], onehot[:split]), (x[split:], onehot[split:])


def main():
    (train_x, train_t), (test_x, test_t) = load()
    batch_size, learning_rate, epochs = 50, 0.01, 15
    n_batches = len(train_x) // batch_size

    data_x = th.shared(train_x, name="data_x", borrow=True)
    data_t = th.shared(train_t, name="data_t", borrow=True)
    W = th.shared(np.zeros((64, 10), dtype=th.config.floatX), name="W")
    b = th.shared(np.zeros(10, dtype=th.config.floatX), name="b")

    index = T.lscalar("index")
    x = T.matrix("x")
    t = T.matrix("t")
    scores = T.dot(x, W) + b
    residual = scores - t
    cost = T.mean(T.sum(residual ** 2, axis=1))
    scale = 2.0 / batch_size
    g_W = T.dot(x.T, residual) * scale
    g_b = T.sum(residual, axis=0) * scale
    # A prediction is right when the true class has the highest score.
    is_best = T.eq(scores, scores.max(axis=1, keepdims=True))
    accuracy = T.mean(T.sum(is_best * t, axis=1))

    train = th.function(
        [index], cost,
        updates=[(W, W - learning_rate * g_W), (b, b - learning_rate * g_b)],
        givens={x: data_x[index * batch_size:(index + 1) * batch_size],
                t: data_t[index * batch_size:(index + 1) * batch_size]},
        name="train")
    test_x_shared = th.shared(test_x, name="test_x")
    test_t_shared = th.shared(test_t, name="test_t")
    evaluate = th.function([], accuracy, givens={x: test_x_shared, t: test_t_shared}, name="evaluate")

    print("The compiled training function (outputs, then update values):")
    th.printing.debugprint(train)
    print()
    start = time.perf_counter()
    for epoch in range(epochs):
        epoch_start = time.perf_counter()
        costs = [float(train(i)) for i in range(n_batches)]
        epoch_ms = (time.perf_counter() - epoch_start) * 1e3
        print("epoch %2d  cost %.4f  test accuracy %.1f%%  (%.2f ms per epoch)"
              % (epoch + 1, np.mean(costs), 100 * float(evaluate()), epoch_ms))
    total = time.perf_counter() - start
    print("\ntrained %d epochs of %d minibatches in %.3f s; final test accuracy %.1f%%"
          % (epochs, n_batches, total, 100 * float(evaluate())))


if __name__ == "__main__":
    main()
