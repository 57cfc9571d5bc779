"""A Theano program in the classic style: it imports `theano` and uses only
Theano's public API (shared data, givens minibatches, updates)."""
import sys

import numpy
import theano
import theano.tensor as T
from theano import printing

rng = numpy.random.RandomState(1234)
n, d = 200, 5
true_w = rng.randn(d)
data_x = rng.randn(n, d)
data_y = data_x.dot(true_w)

train_x = theano.shared(numpy.asarray(data_x, dtype=theano.config.floatX), borrow=True)
train_y = theano.shared(numpy.asarray(data_y, dtype=theano.config.floatX), borrow=True)
w = theano.shared(numpy.zeros(d, dtype=theano.config.floatX), name="w")

index = T.lscalar("index")
x = T.matrix("x")
y = T.vector("y")
batch = 20
err = T.dot(x, w) - y
cost = T.mean(err ** 2)
grad_w = 2.0 * T.dot(x.T, err) / batch
train = theano.function(
    [index], cost,
    updates=[(w, w - 0.1 * grad_w)],
    givens={x: train_x[index * batch:(index + 1) * batch],
            y: train_y[index * batch:(index + 1) * batch]})

printing.debugprint(train)
for epoch in range(30):
    costs = [train(i) for i in range(n // batch)]
print("final cost %.3e" % numpy.mean(costs))
print("weights match:", numpy.allclose(w.get_value(), true_w, atol=1e-2))
sys.exit(0 if numpy.mean(costs) < 1e-4 else 1)
