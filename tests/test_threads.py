"""One compiled function called from several Python threads at once.

Calls of one function are serialized on its storage (the GIL is released
while it runs, so different functions run in parallel); every call sees its
own inputs and the updates of one call are never mixed with another's."""

import sys
import threading
import time

import numpy as np

import rtensor as th
import rtensor.tensor as T


def run_in_threads(n_threads, work):
    errors = []

    def target(k):
        try:
            work(k)
        except BaseException as e:  # pragma: no cover - reported below
            errors.append(e)

    threads = [threading.Thread(target=target, args=(k,)) for k in range(n_threads)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert not errors, errors


def test_concurrent_calls_of_one_function_each_get_their_own_result():
    x = T.dmatrix("x")
    W = th.shared(np.random.RandomState(0).randn(64, 64))
    f = th.function([x], T.tanh(T.dot(x, W)) * 2 + 1)
    Wv = W.get_value()
    inputs = [np.random.RandomState(k).randn(32, 64) for k in range(8)]
    results = {}

    def work(k):
        for _ in range(20):
            results[k] = f(inputs[k])

    run_in_threads(8, work)
    for k in range(8):
        np.testing.assert_allclose(results[k], np.tanh(inputs[k] @ Wv) * 2 + 1)


def test_concurrent_updates_of_a_shared_counter_are_never_lost():
    counter = th.shared(np.asarray(0, dtype="int64"))
    bump = th.function([], [], updates=[(counter, counter + 1)])

    def work(k):
        for _ in range(500):
            bump()

    run_in_threads(4, work)
    assert int(counter.get_value()) == 4 * 500


def test_a_long_call_releases_the_gil_so_other_python_threads_run_meanwhile():
    x = T.dvector("x")
    f = th.function([x], T.tanh(T.exp(x) * 3).sum())
    v = np.random.RandomState(0).rand(2_000_000)
    f(v)
    counter = [0]
    seen = {}
    done = threading.Event()

    def work():
        start_count, start = counter[0], time.perf_counter()
        for _ in range(3):
            f(v)
        seen["count"] = counter[0] - start_count
        seen["seconds"] = time.perf_counter() - start
        done.set()

    # How fast this thread counts on its own.
    t0 = time.perf_counter()
    while time.perf_counter() - t0 < 0.05:
        counter[0] += 1
    rate = counter[0] / (time.perf_counter() - t0)
    old_interval = sys.getswitchinterval()
    sys.setswitchinterval(1e-4)
    try:
        worker = threading.Thread(target=work)
        worker.start()
        while not done.is_set():
            counter[0] += 1
        worker.join()
    finally:
        sys.setswitchinterval(old_interval)
    # Held through the calls, the GIL would let this thread count only
    # around them (a few percent of the time); released, it counts along.
    assert seen["count"] > 0.25 * rate * seen["seconds"]


def test_a_value_an_update_writes_in_place_is_never_read_half_written():
    # W + 1 is written over W's buffer (the update in place); another
    # function's calls in other threads see W before or after a write, whole.
    W = th.shared(np.zeros((400, 400)), name="W")
    step = th.function([], [], updates=[(W, W + 1)])
    spread = th.function([], [W.max() - W.min(), W.min()])
    seen = []

    def work(k):
        for _ in range(150):
            if k == 0:
                step()
            else:
                gap, low = spread()
                seen.append((float(gap), float(low)))

    run_in_threads(3, work)
    assert all(gap == 0 for gap, _ in seen)
    assert len({low for _, low in seen}) > 1
    np.testing.assert_array_equal(W.get_value(), np.full((400, 400), 150.0))
