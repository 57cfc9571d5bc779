"""The tutorial's logistic regression, written against Theano's public API
only (`import theano`), on scikit-learn's digits."""
import sys
import timeit

import numpy
import theano
import theano.tensor as T
from sklearn.datasets import load_digits
from theano.sandbox.rng_mrg import MRG_RandomStreams


class LogisticRegression(object):
    def __init__(self, input, n_in, n_out):
        self.W = theano.shared(value=numpy.zeros((n_in, n_out), dtype=theano.config.floatX), name='W', borrow=True)
        self.b = theano.shared(value=numpy.zeros((n_out,), dtype=theano.config.floatX), name='b', borrow=True)
        self.p_y_given_x = T.nnet.softmax(T.dot(input, self.W) + self.b)
        self.y_pred = T.argmax(self.p_y_given_x, axis=1)
        self.params = [self.W, self.b]
        self.input = input

    def negative_log_likelihood(self, y):
        return -T.mean(T.log(self.p_y_given_x)[T.arange(y.shape[0]), y])

    def errors(self, y):
        return T.mean(T.neq(self.y_pred, y))


def shared_dataset(data_xy, borrow=True):
    data_x, data_y = data_xy
    shared_x = theano.shared(numpy.asarray(data_x, dtype=theano.config.floatX), borrow=borrow)
    shared_y = theano.shared(numpy.asarray(data_y, dtype=theano.config.floatX), borrow=borrow)
    return shared_x, T.cast(shared_y, 'int32')


def sgd_optimization(learning_rate=0.5, n_epochs=20, batch_size=50):
    digits = load_digits()
    x_all = digits.data / 16.0
    order = numpy.random.RandomState(0).permutation(len(x_all))
    x_all, y_all = x_all[order], digits.target[order]
    train_set_x, train_set_y = shared_dataset((x_all[:1500], y_all[:1500]))
    test_set_x, test_set_y = shared_dataset((x_all[1500:1750], y_all[1500:1750]))
    n_train_batches = train_set_x.get_value(borrow=True).shape[0] // batch_size
    n_test_batches = test_set_x.get_value(borrow=True).shape[0] // batch_size

    index = T.lscalar()
    x = T.matrix('x')
    y = T.ivector('y')
    srng = MRG_RandomStreams(1234)
    # Input dropout with keep probability 1 (a no-op that exercises the stream).
    mask = srng.binomial(size=x.shape, n=1, p=1.0, dtype=theano.config.floatX)
    classifier = LogisticRegression(input=x * mask, n_in=64, n_out=10)
    cost = classifier.negative_log_likelihood(y)

    test_model = theano.function(
        inputs=[index], outputs=classifier.errors(y),
        givens={x: test_set_x[index * batch_size: (index + 1) * batch_size],
                y: test_set_y[index * batch_size: (index + 1) * batch_size]})
    g_W = T.grad(cost=cost, wrt=classifier.W)
    g_b = T.grad(cost=cost, wrt=classifier.b)
    updates = [(classifier.W, classifier.W - learning_rate * g_W),
               (classifier.b, classifier.b - learning_rate * g_b)]
    train_model = theano.function(
        inputs=[index], outputs=cost, updates=updates,
        givens={x: train_set_x[index * batch_size: (index + 1) * batch_size],
                y: train_set_y[index * batch_size: (index + 1) * batch_size]})

    start_time = timeit.default_timer()
    for epoch in range(n_epochs):
        for minibatch_index in range(n_train_batches):
            train_model(minibatch_index)
    test_score = numpy.mean([test_model(i) for i in range(n_test_batches)])
    print('test error %f %%, %.2fs' % (test_score * 100., timeit.default_timer() - start_time))
    theano.printing.debugprint(train_model)
    return test_score


if __name__ == '__main__':
    sys.exit(0 if sgd_optimization() < 0.10 else 1)
