"""Random streams (SPEC §5): `RandomStreams` and `MRG_RandomStreams` on the
Philox4x32-10 engine. Distributions are checked against their exact moments
with tolerances from the sample size (5 standard errors), values against
their support, and the stream mechanics (seeding, default updates,
reproducibility, symbolic sizes) against the rules of the spec."""
import math

import numpy as np
import pytest

import rtensor as th
from rtensor.sandbox.rng_mrg import MRG_RandomStreams
from rtensor.tensor.shared_randomstreams import RandomStreams

T = th.tensor

N = 100_000


def draw(sample, *inputs_values, inputs=()):
    return th.function(list(inputs), sample)(*inputs_values)


def assert_mean(values, mean, var, n=None, z=5.0):
    """The sample mean lies within z standard errors of `mean`."""
    n = values.size if n is None else n
    err = z * math.sqrt(var / n) + 1e-12
    assert abs(float(np.mean(values)) - mean) < err, (float(np.mean(values)), mean, err)


def assert_var(values, var, fourth_central, z=5.0):
    """The sample variance lies within z standard errors of `var`."""
    n = values.size
    err = z * math.sqrt(max(fourth_central - var * var, 0.0) / n) + 1e-12
    assert abs(float(np.var(values)) - var) < err, (float(np.var(values)), var, err)


def assert_counts(values, support, probs, z=5.0):
    """Each value's count lies within z standard deviations of n·p."""
    n = values.size
    for v, p in zip(support, probs):
        count = int(np.sum(values == v))
        assert abs(count - n * p) <= z * math.sqrt(n * p * (1 - p)) + 1e-9, (v, count, n * p)
    assert np.isin(values, support).all()


# ---------------------------------------------------------------------------
# uniform
# ---------------------------------------------------------------------------


@pytest.mark.parametrize("dtype", ["float32", "float64"])
@pytest.mark.parametrize("low,high", [(0.0, 1.0), (-3.0, 5.5), (2.0, 2.25)])
def test_uniform_lies_in_low_high_with_uniform_moments(dtype, low, high):
    srng = RandomStreams(11)
    x = draw(srng.uniform((N,), low, high, dtype=dtype))
    assert x.dtype == np.dtype(dtype) and x.shape == (N,)
    assert x.min() >= np.asarray(low, dtype) and x.max() < np.asarray(high, dtype)
    width = high - low
    assert_mean(x, (low + high) / 2, width ** 2 / 12)
    assert_var(x, width ** 2 / 12, width ** 4 / 80)


def test_uniform_float32_never_rounds_up_to_high():
    # Between 1 and the next float32 every value rounds to 1 or to high; high is excluded.
    high = float(np.nextafter(np.float32(1), np.float32(2)))
    srng = RandomStreams(3)
    x = draw(srng.uniform((10_000,), 1.0, high, dtype="float32"))
    assert (x < np.float32(high)).all()
    assert (x == np.float32(1)).all()


def test_uniform_broadcasts_low_and_high_against_the_size():
    srng = RandomStreams(5)
    low = np.array([0.0, 10.0, -4.0])
    high = np.array([[20.0], [100.0]])
    x = draw(srng.uniform((2, 3), low, high), inputs=())
    assert x.shape == (2, 3)
    big = draw(srng.uniform((20_000, 2, 3), low, high))
    lo = np.broadcast_to(low, (2, 3))
    hi = np.broadcast_to(high, (2, 3))
    assert (big >= lo).all() and (big < hi).all()
    for i in range(2):
        for j in range(3):
            w = hi[i, j] - lo[i, j]
            assert_mean(big[:, i, j], (lo[i, j] + hi[i, j]) / 2, w * w / 12)


def test_uniform_with_size_none_takes_the_parameters_broadcast_shape():
    srng = RandomStreams(5)
    low = T.dvector("low")
    high = T.dcol("high")
    u = srng.uniform(low=low, high=high)
    assert u.ndim == 2 and u.type.broadcastable == (False, False)
    x = th.function([low, high], u)(np.zeros(4), np.full((3, 1), 2.0))
    assert x.shape == (3, 4) and (x >= 0).all() and (x < 2).all()


def test_uniform_dtype_defaults_to_floatx_and_follows_it():
    srng = RandomStreams(1)
    assert srng.uniform((3,)).dtype == "float64"
    th.config.floatX = "float32"
    u = srng.uniform((3,))
    assert u.dtype == "float32"
    assert draw(u).dtype == np.float32
    # float64 bounds upcast the sample, as Theano's upcast(floatX, low, high)
    assert srng.uniform((3,), low=T.dscalar("lo"), high=1.0).dtype == "float64"


def test_uniform_refuses_an_integer_dtype_naming_the_op():
    srng = RandomStreams(1)
    with pytest.raises(TypeError, match=r"RandomFunction\{uniform\}.*floating-point"):
        srng.uniform((3,), dtype="int32")


# ---------------------------------------------------------------------------
# normal
# ---------------------------------------------------------------------------


@pytest.mark.parametrize("dtype", ["float32", "float64"])
@pytest.mark.parametrize("avg,std", [(0.0, 1.0), (3.0, 0.5), (-10.0, 4.0)])
def test_normal_matches_normal_moments(dtype, avg, std):
    srng = RandomStreams(21)
    x = draw(srng.normal((N,), avg, std, dtype=dtype))
    assert x.dtype == np.dtype(dtype)
    assert_mean(x, avg, std ** 2)
    assert_var(x, std ** 2, 3 * std ** 4)
    # the tails: P(|z| > 2) = 0.0455
    frac = float(np.mean(np.abs(x - avg) > 2 * std))
    assert abs(frac - 0.0455003) < 5 * math.sqrt(0.0455 * 0.9545 / N)


def test_normal_with_tensor_avg_and_std_broadcasts_per_column():
    srng = RandomStreams(8)
    avg = T.dvector("avg")
    std = T.dvector("std")
    f = th.function([avg, std], srng.normal((50_000, 3), avg, std))
    a, s = np.array([0.0, 10.0, -5.0]), np.array([1.0, 2.0, 0.0])
    x = f(a, s)
    assert x.shape == (50_000, 3)
    for j in range(2):
        assert_mean(x[:, j], a[j], s[j] ** 2)
        assert_var(x[:, j], s[j] ** 2, 3 * s[j] ** 4)
    assert (x[:, 2] == -5.0).all()  # std 0 gives the mean


def test_normal_with_a_negative_std_raises_naming_the_op():
    srng = RandomStreams(8)
    std = T.dscalar("std")
    f = th.function([std], srng.normal((3,), 0.0, std))
    assert f(1.0).shape == (3,)
    with pytest.raises(ValueError, match=r"RandomFunction\{normal\}.*std must be non-negative"):
        f(-1.0)


# ---------------------------------------------------------------------------
# binomial
# ---------------------------------------------------------------------------


def test_binomial_with_n_1_and_a_tensor_p_succeeds_with_probability_p():
    srng = RandomStreams(31)
    p = T.dvector("p")
    f = th.function([p], srng.binomial(size=(40_000, 5), n=1, p=p, dtype="float64"))
    pv = np.array([0.0, 0.1, 0.5, 0.93, 1.0])
    x = f(pv)
    assert x.dtype == np.float64 and x.shape == (40_000, 5)
    assert np.isin(x, [0.0, 1.0]).all()
    assert (x[:, 0] == 0).all() and (x[:, 4] == 1).all()
    for j in (1, 2, 3):
        assert_mean(x[:, j], pv[j], pv[j] * (1 - pv[j]))


def test_binomial_with_p_of_the_size_shape_as_in_rbm_sampling():
    srng = RandomStreams(32)
    v = T.dmatrix("v")
    W = th.shared(np.random.RandomState(0).normal(size=(6, 4)))
    hmean = T.nnet.sigmoid(T.dot(v, W))
    hsample = srng.binomial(size=hmean.shape, n=1, p=hmean, dtype=th.config.floatX)
    f = th.function([v], [hmean, hsample])
    vals = np.random.RandomState(1).normal(size=(5000, 6))
    mean, sample = f(vals)
    assert sample.shape == (5000, 4) and np.isin(sample, [0, 1]).all()
    # sum of Bernoulli(p_i): mean sum p_i, variance sum p_i (1 - p_i)
    total = float(sample.sum())
    assert abs(total - mean.sum()) < 5 * math.sqrt(float((mean * (1 - mean)).sum()))


@pytest.mark.parametrize("n,p", [(20, 0.3), (7, 0.95), (1000, 0.6), (100_000, 0.01)])
def test_binomial_with_n_trials_matches_binomial_moments(n, p):
    srng = RandomStreams(33)
    x = draw(srng.binomial((N,), n=n, p=p))
    assert x.dtype == np.int64
    assert x.min() >= 0 and x.max() <= n
    var = n * p * (1 - p)
    assert_mean(x, n * p, var)
    fourth = var * (1 + 3 * (n - 2) * p * (1 - p))  # fourth central moment
    assert_var(x, var, fourth)


def test_binomial_broadcasts_a_tensor_n_against_p():
    srng = RandomStreams(34)
    n = T.lvector("n")
    f = th.function([n], srng.binomial(size=(30_000, 3), n=n, p=0.25))
    nv = np.array([0, 4, 400])
    x = f(nv)
    assert (x[:, 0] == 0).all()
    for j in (1, 2):
        assert x[:, j].max() <= nv[j]
        assert_mean(x[:, j], nv[j] * 0.25, nv[j] * 0.25 * 0.75)


def test_binomial_with_p_outside_0_1_raises_naming_the_op():
    srng = RandomStreams(3)
    p = T.dscalar("p")
    f = th.function([p], srng.binomial((4,), n=1, p=p))
    with pytest.raises(ValueError, match=r"RandomFunction\{binomial\}.*p must be in \[0, 1\]"):
        f(1.5)
    g = th.function([p], srng.binomial((4,), n=3, p=p))
    with pytest.raises(ValueError, match=r"RandomFunction\{binomial\}"):
        g(-0.1)


def test_binomial_n_must_be_an_integer_tensor():
    srng = RandomStreams(3)
    with pytest.raises(TypeError, match=r"RandomFunction\{binomial\}.*n must be an integer"):
        srng.binomial((4,), n=T.dscalar("n"), p=0.5)


# ---------------------------------------------------------------------------
# integers, poisson
# ---------------------------------------------------------------------------


def test_random_integers_covers_low_to_high_inclusive_uniformly():
    srng = RandomStreams(41)
    x = draw(srng.random_integers((60_000,), low=-2, high=3))
    assert x.dtype == np.int64
    assert_counts(x, np.arange(-2, 4), [1 / 6] * 6)


def test_random_integers_broadcasts_bounds_and_rejects_low_above_high():
    srng = RandomStreams(42)
    low = T.lvector("low")
    f = th.function([low], srng.random_integers((1000, 3), low=low, high=10, dtype="int32"))
    x = f(np.array([0, 5, 10]))
    assert x.dtype == np.int32
    assert x[:, 0].min() >= 0 and x[:, 1].min() >= 5 and (x[:, 2] == 10).all()
    assert x.max() <= 10
    with pytest.raises(ValueError, match=r"random_integers.*low > high"):
        f(np.array([0, 11, 2]))


def test_integers_excludes_high():
    srng = RandomStreams(43)
    x = draw(srng.integers((30_000,), 3, 6))
    assert_counts(x, [3, 4, 5], [1 / 3] * 3)


@pytest.mark.parametrize("lam", [0.7, 6.0, 45.0, 2500.0])
def test_poisson_matches_poisson_moments(lam):
    srng = RandomStreams(51)
    x = draw(srng.poisson((N,), lam=lam))
    assert x.min() >= 0
    assert_mean(x, lam, lam)
    assert_var(x, lam, lam * (1 + 3 * lam))


def test_poisson_with_a_negative_lam_raises():
    srng = RandomStreams(51)
    lam = T.dscalar("lam")
    f = th.function([lam], srng.poisson((3,), lam=lam))
    with pytest.raises(ValueError, match=r"RandomFunction\{poisson\}.*lam must be non-negative"):
        f(-1.0)


# ---------------------------------------------------------------------------
# multinomial, permutation, choice
# ---------------------------------------------------------------------------


@pytest.mark.parametrize("n", [1, 10])
def test_multinomial_rows_sum_to_n_and_follow_pvals(n):
    srng = RandomStreams(61)
    pvals = np.array([0.2, 0.3, 0.5])
    x = draw(srng.multinomial(size=(30_000,), n=n, pvals=pvals))
    assert x.shape == (30_000, 3) and x.dtype == np.int64
    assert (x.sum(axis=1) == n).all() and (x >= 0).all()
    for j, p in enumerate(pvals):
        assert_mean(x[:, j], n * p, n * p * (1 - p))


def test_multinomial_takes_one_distribution_per_row_of_pvals():
    srng = RandomStreams(62)
    pv = T.dmatrix("pv")
    n = T.lvector("n")
    f = th.function([pv, n], srng.multinomial(n=n, pvals=pv, dtype="float32"))
    rows = np.array([[1.0, 0.0, 0.0], [0.0, 0.5, 0.5], [0.25, 0.25, 0.5]])
    x = f(rows, np.array([3, 4, 5]))
    assert x.shape == (3, 3) and x.dtype == np.float32
    np.testing.assert_array_equal(x.sum(axis=1), [3, 4, 5])
    np.testing.assert_array_equal(x[0], [3, 0, 0])
    assert x[1, 0] == 0
    big = draw(srng.multinomial(size=(20_000, 3), n=2, pvals=rows))
    assert big.shape == (20_000, 3, 3)
    for i in range(3):
        for j in range(3):
            p = rows[i, j]
            assert_mean(big[:, i, j], 2 * p, 2 * p * (1 - p))


def test_multinomial_with_negative_pvals_raises():
    srng = RandomStreams(62)
    pv = T.dvector("pv")
    f = th.function([pv], srng.multinomial(size=(2,), n=1, pvals=pv))
    with pytest.raises(ValueError, match=r"multinomial.*non-negative"):
        f(np.array([0.5, -0.1, 0.6]))


def test_permutation_rows_are_permutations_with_uniform_positions():
    srng = RandomStreams(71)
    x = draw(srng.permutation(size=(12_000,), n=6))
    assert x.shape == (12_000, 6) and x.dtype == np.int64
    np.testing.assert_array_equal(np.sort(x, axis=1), np.tile(np.arange(6), (12_000, 1)))
    assert_counts(x[:, 0], np.arange(6), [1 / 6] * 6)
    one = draw(srng.permutation(n=9))
    assert one.shape == (9,)
    np.testing.assert_array_equal(np.sort(one), np.arange(9))
    grid = draw(srng.permutation(size=(2, 3), n=4))
    assert grid.shape == (2, 3, 4)


def test_shuffle_row_elements_permutes_each_row_independently():
    srng = RandomStreams(72)
    x = T.dmatrix("x")
    shuffled = srng.shuffle_row_elements(x)
    assert shuffled.type == x.type
    f = th.function([x], shuffled)
    rows = np.tile(np.arange(5.0) * 1.5, (8000, 1))
    out = f(rows)
    assert out.shape == rows.shape and out.dtype == np.float64
    np.testing.assert_array_equal(np.sort(out, axis=1), rows)
    assert_counts(out[:, 0], rows[0], [0.2] * 5)
    assert not np.array_equal(out[0], out[1]) or not np.array_equal(out[1], out[2])
    v = T.lvector("v")
    assert sorted(th.function([v], srng.shuffle_row_elements(v))(np.arange(6)).tolist()) == list(range(6))


def test_choice_with_replacement_draws_values_of_a_with_probabilities_p():
    srng = RandomStreams(81)
    a = np.array([10, 20, 30, 40])
    p = np.array([0.1, 0.0, 0.6, 0.3])
    x = draw(srng.choice(size=(40_000,), a=a, p=p))
    assert_counts(x, [10, 30, 40], [0.1, 0.6, 0.3])
    assert not (x == 20).any()
    y = draw(srng.choice(size=(3, 4), a=5))
    assert y.shape == (3, 4) and np.isin(y, np.arange(5)).all()
    assert draw(srng.choice(a=3)).shape == ()


def test_choice_without_replacement_draws_distinct_values():
    srng = RandomStreams(82)
    a = T.dvector("a")
    f = th.function([a], srng.choice(size=(5,), a=a, replace=False, dtype="float64"))
    av = np.array([1.5, 2.5, 3.5, 4.5, 5.5, 6.5, 7.5])
    for _ in range(20):
        x = f(av)
        assert len(set(x.tolist())) == 5 and np.isin(x, av).all()
    firsts = np.array([f(av)[0] for _ in range(3500)])
    assert_counts(firsts, av, [1 / 7] * 7)
    with pytest.raises(ValueError, match=r"choice.*larger sample.*replace=False"):
        f(av[:3])


def test_choice_without_replacement_with_p_skips_zero_weights():
    srng = RandomStreams(83)
    p = np.array([0.5, 0.0, 0.25, 0.25])
    f = th.function([], srng.choice(size=(3,), a=4, replace=False, p=p))
    for _ in range(20):
        assert sorted(f().tolist()) == [0, 2, 3]


def test_choice_probabilities_must_sum_to_one():
    srng = RandomStreams(84)
    f = th.function([], srng.choice(size=(3,), a=3, p=np.array([0.5, 0.2, 0.2])))
    with pytest.raises(ValueError, match="do not sum to 1"):
        f()


# ---------------------------------------------------------------------------
# reproducibility and seeding
# ---------------------------------------------------------------------------


def _three_draws(srng):
    return [srng.uniform((4,)), srng.normal((2, 3)), srng.binomial((5,), n=3, p=0.4)]


def test_two_identically_built_streams_give_identical_samples():
    a, b = RandomStreams(234), RandomStreams(234)
    fa = th.function([], _three_draws(a))
    fb = th.function([], _three_draws(b))
    for _ in range(3):
        for x, y in zip(fa(), fb()):
            np.testing.assert_array_equal(x, y)


def test_different_seeds_and_different_draws_give_different_numbers():
    a, b = RandomStreams(234), RandomStreams(235)
    xa = draw(a.uniform((1000,)))
    xb = draw(b.uniform((1000,)))
    assert not np.array_equal(xa, xb)
    u1, u2 = a.uniform((N,)), a.uniform((N,))
    x1, x2 = th.function([], [u1, u2])()
    # independent streams: correlation within 5/sqrt(N) of zero
    assert abs(np.corrcoef(x1, x2)[0, 1]) < 5 / math.sqrt(N)


def test_seed_resets_every_stream_to_its_first_numbers():
    srng = RandomStreams(234)
    draws = _three_draws(srng)
    f = th.function([], draws)
    first = f()
    second = f()
    assert not np.array_equal(first[0], second[0])
    srng.seed(234)
    for x, y in zip(f(), first):
        np.testing.assert_array_equal(x, y)
    srng.seed(99)
    other = f()
    srng.seed()  # the construction seed
    for x, y in zip(f(), first):
        np.testing.assert_array_equal(x, y)
    assert not np.array_equal(other[0], first[0])
    fresh = RandomStreams(99)
    np.testing.assert_array_equal(th.function([], _three_draws(fresh)[0])(), other[0])


def test_seeds_must_be_non_negative_integers():
    with pytest.raises(ValueError, match="seed"):
        RandomStreams(-1)
    with pytest.raises(ValueError, match="seed"):
        RandomStreams(2 ** 64)
    srng = RandomStreams(np.int64(5))
    assert draw(srng.uniform((2,))).shape == (2,)
    with pytest.raises(ValueError, match="seed"):
        srng.seed(1.5)


def test_seed_none_gives_a_working_unpredictable_stream():
    a, b = RandomStreams(), RandomStreams()
    assert not np.array_equal(draw(a.uniform((8,))), draw(b.uniform((8,))))


# ---------------------------------------------------------------------------
# default updates and the state
# ---------------------------------------------------------------------------


def test_default_updates_advance_the_state_on_every_call():
    srng = RandomStreams(234)
    u = srng.uniform((2, 2))
    f = th.function([], u)
    values = [f() for _ in range(4)]
    for i in range(4):
        for j in range(i):
            assert (values[i] != values[j]).all()
    reference = RandomStreams(234)
    g = th.function([], reference.uniform((2, 2)))
    for v in values:
        np.testing.assert_array_equal(g(), v)


def test_no_default_updates_gives_the_same_numbers_every_call():
    srng = RandomStreams(234)
    n = srng.normal((2, 2))
    g = th.function([], n, no_default_updates=True)
    np.testing.assert_array_equal(g(), g())
    state = n.rng.get_value()
    g()
    np.testing.assert_array_equal(n.rng.get_value(), state)
    h = th.function([], n, no_default_updates=[n.rng])
    np.testing.assert_array_equal(h(), g())
    f = th.function([], n)
    expected = g()
    np.testing.assert_array_equal(f(), expected)  # the first advancing call sees the same state
    assert not np.array_equal(f(), expected)


def test_two_functions_sharing_a_stream_advance_it_once_per_call_each():
    srng = RandomStreams(7)
    u = srng.uniform((3,))
    f1 = th.function([], u)
    f2 = th.function([], u * 2)
    seq = [f1(), f2() / 2, f1(), f2() / 2]
    reference = RandomStreams(7)
    g = th.function([], reference.uniform((3,)))
    for got in seq:
        np.testing.assert_allclose(got, g(), rtol=0, atol=0)


def test_one_sample_used_twice_in_a_function_has_the_same_values():
    srng = RandomStreams(234)
    u = srng.uniform((2, 2))
    a, b = th.function([], [u, u])()
    np.testing.assert_array_equal(a, b)
    assert np.all(np.abs(th.function([], u + u - 2 * u)()) < 1e-12)


def test_state_updates_rng_and_saving_the_state_with_get_value():
    srng = RandomStreams(234)
    u = srng.uniform((3,))
    n = srng.normal((3,))
    assert len(srng.state_updates) == 2
    state, new_state = srng.state_updates[0]
    assert state is u.rng and u.update == (state, new_state)
    assert srng.updates() == srng.state_updates
    assert state.default_update is not None and state.default_update.id == new_state.id
    assert state.type.dtype == "uint32" and state.get_value().shape == (4,)
    f = th.function([], [u, n])
    saved = u.rng.get_value()
    first = f()
    u.rng.set_value(saved)
    again = f()
    np.testing.assert_array_equal(first[0], again[0])  # u restored
    assert not np.array_equal(first[1], again[1])  # n was not
    assert srng[u.rng].shape == (4,)


def test_srng_updates_given_explicitly_act_like_the_default_updates():
    srng = RandomStreams(13)
    fn = th.function([], srng.uniform((2, 2)), updates=srng.updates())
    gn = th.function([], srng.normal((2, 2)), updates=srng.updates())
    reference = RandomStreams(13)
    ru, rn = reference.uniform((2, 2)), reference.normal((2, 2))
    fr, gr = th.function([], ru), th.function([], rn)
    np.testing.assert_array_equal(fn(), fr())
    np.testing.assert_array_equal(fn(), fr())
    np.testing.assert_array_equal(gn(), gr())
    # gn's updates also advanced the uniform stream (its pair was in srng.updates())
    fr()
    np.testing.assert_array_equal(fn(), fr())


def test_explicit_updates_replace_the_default_update():
    srng = RandomStreams(12)
    u = srng.uniform((3,))
    f = th.function([], u, updates=[(u.rng, u.rng)])
    np.testing.assert_array_equal(f(), f())


def test_a_bad_state_value_is_refused_naming_the_op():
    srng = RandomStreams(12)
    u = srng.uniform((3,))
    f = th.function([], u)
    u.rng.set_value(np.zeros(3, dtype="uint32"))
    with pytest.raises(ValueError, match=r"RandomFunction\{uniform\}.*state"):
        f()


def test_raw_random_draws_thread_a_state_by_hand():
    from rtensor.tensor import raw_random

    state = th.shared(th._core.random_seeded_state(5, 0))
    initial = state.get_value()
    s1, x1 = raw_random.uniform(state, (4,))
    s2, x2 = raw_random.uniform(s1, (4,))
    a, b, s_after = th.function([], [x1, x2, s2])()
    assert not np.array_equal(a, b)
    state.set_value(s_after)
    s3, x3 = raw_random.uniform(state, (4,))
    c = th.function([], x3)()
    assert not np.array_equal(c, b)
    # restarting from the state after one call redraws the second sample
    state.set_value(initial)
    state.set_value(th.function([], s1)())
    np.testing.assert_array_equal(th.function([], x1)(), b)


# ---------------------------------------------------------------------------
# symbolic sizes and size errors
# ---------------------------------------------------------------------------


def test_size_may_be_the_shape_of_another_variable():
    srng = RandomStreams(90)
    x = T.dmatrix("x")
    f = th.function([x], srng.normal(size=x.shape))
    assert f(np.zeros((3, 5))).shape == (3, 5)
    assert f(np.zeros((0, 2))).shape == (0, 2)


def test_size_may_mix_integers_and_symbolic_scalars():
    srng = RandomStreams(91)
    n = T.iscalar("n")
    m = T.lscalar("m")
    u = srng.uniform(size=(n, 3, m))
    assert u.ndim == 3
    f = th.function([n, m], u)
    assert f(2, 4).shape == (2, 3, 4)
    b = srng.uniform(size=(1, n))
    assert b.type.broadcastable == (True, False)


def test_a_symbolic_size_vector_needs_a_known_length_or_ndim():
    srng = RandomStreams(92)
    s = T.lvector("s")
    with pytest.raises(ValueError, match="ndim"):
        srng.uniform(size=s)
    u = srng.uniform(size=s, ndim=2)
    f = th.function([s], u)
    assert f(np.array([2, 3])).shape == (2, 3)
    with pytest.raises(ValueError, match=r"RandomFunction\{uniform\}.*size"):
        f(np.array([2, 3, 4]))


def test_ndim_must_agree_with_the_size():
    srng = RandomStreams(93)
    with pytest.raises(ValueError, match="ndim should be equal to len"):
        srng.uniform(size=(2, 3), ndim=3)


def test_parameters_must_broadcast_to_the_size():
    srng = RandomStreams(94)
    low = T.dvector("low")
    f = th.function([low], srng.uniform(size=(4,), low=low))
    with pytest.raises(ValueError, match=r"RandomFunction\{uniform\}.*low.*does not broadcast"):
        f(np.zeros(3))
    with pytest.raises(ValueError, match="at least as big"):
        srng.uniform(size=(4,), low=T.dmatrix())


def test_bad_sizes_are_refused():
    srng = RandomStreams(95)
    with pytest.raises(TypeError, match="size"):
        srng.uniform(size="abc")
    with pytest.raises(TypeError, match="size"):
        srng.uniform(size=(2.5, 3))
    with pytest.raises(ValueError, match="negative"):
        srng.uniform(size=(2, -3))
    n = T.lscalar("n")
    f = th.function([n], srng.uniform(size=(n,)))
    with pytest.raises(ValueError, match=r"RandomFunction\{uniform\}.*negative"):
        f(-2)
    assert f(0).shape == (0,)


def test_debugprint_shows_theano_op_names():
    srng = RandomStreams(1)
    text = th.printing.debugprint(srng.uniform((2,)), file="str")
    assert text.startswith("RandomFunction{uniform}.1")
    assert "TensorType(uint32, vector)" in text
    mrg = MRG_RandomStreams(1)
    text = th.printing.debugprint(mrg.uniform((2, 2)), file="str")
    assert text.startswith("mrg_uniform{TensorType(float64, matrix),no_inplace}.1")


# ---------------------------------------------------------------------------
# MRG_RandomStreams
# ---------------------------------------------------------------------------


def test_mrg_uniform_normal_and_binomial_have_the_right_distributions():
    mrg = MRG_RandomStreams(seed=1234)
    u, n, b = th.function([], [mrg.uniform((N,), dtype="float32"), mrg.normal((N,), avg=1.0, std=2.0),
                                mrg.binomial((N,), p=0.3, dtype="float32")])()
    assert u.dtype == np.float32 and (u >= 0).all() and (u < 1).all()
    assert_mean(u, 0.5, 1 / 12)
    assert_mean(n, 1.0, 4.0)
    assert_var(n, 4.0, 48.0)
    assert b.dtype == np.float32 and np.isin(b, [0, 1]).all()
    assert_mean(b, 0.3, 0.21)


def test_mrg_binomial_takes_the_size_positionally_and_a_tensor_p():
    mrg = MRG_RandomStreams(5)
    x = T.dmatrix("x")
    mask = mrg.binomial(x.shape, n=1, p=0.8, dtype=th.config.floatX)
    f = th.function([x], x * mask)
    out = f(np.ones((200, 100)))
    assert out.shape == (200, 100) and np.isin(out, [0, 1]).all()
    assert_mean(out, 0.8, 0.16)
    with pytest.raises(NotImplementedError):
        mrg.binomial((3,), n=2, p=0.5)


def test_mrg_state_advances_through_default_updates_and_seed_reproduces_first_results():
    mrg = MRG_RandomStreams(seed=4321)
    f = th.function([], [mrg.uniform((5,)), mrg.normal((5,))])
    first = f()
    second = f()
    assert not np.array_equal(first[0], second[0])
    mrg.seed()
    for x, y in zip(f(), first):
        np.testing.assert_array_equal(x, y)
    other = MRG_RandomStreams(seed=4321)
    g = th.function([], [other.uniform((5,)), other.normal((5,))])
    for x, y in zip(g(), first):
        np.testing.assert_array_equal(x, y)
    assert len(mrg.state_updates[0]) == 4 and len(mrg.updates()[0]) == 2


def test_mrg_truncated_normal_stays_within_two_standard_deviations():
    mrg = MRG_RandomStreams(9)
    x = draw(mrg.normal((N,), avg=3.0, std=0.5, truncate=True))
    assert (np.abs(x - 3.0) <= 1.0 + 1e-12).all()
    t = draw(mrg.truncated_normal((N,), avg=0.0, std=2.0))
    assert_mean(t, 0.0, 4.0)
    assert abs(float(np.std(t)) - 2.0) < 0.03
    assert (np.abs(t) <= 2 * 2.0 / 0.87962566103423978 + 1e-9).all()


def test_mrg_multinomial_draws_one_row_of_counts_per_row_of_pvals():
    mrg = MRG_RandomStreams(10)
    pv = T.dmatrix("pv")
    f = th.function([pv], mrg.multinomial(pvals=pv, n=4))
    rows = np.tile([0.1, 0.6, 0.3], (20_000, 1))
    x = f(rows)
    assert x.shape == rows.shape and (x.sum(axis=1) == 4).all()
    for j, p in enumerate(rows[0]):
        assert_mean(x[:, j], 4 * p, 4 * p * (1 - p))
    with pytest.raises(ValueError, match="size"):
        mrg.multinomial(size=(2,), pvals=rows)
    with pytest.raises(NotImplementedError):
        mrg.multinomial(pvals=np.array([0.5, 0.5]))
    with pytest.raises(TypeError, match="pvals"):
        mrg.multinomial()


def test_mrg_choice_draws_distinct_columns_per_row_without_replacement():
    mrg = MRG_RandomStreams(11)
    p = T.dmatrix("p")
    f = th.function([p], mrg.choice(size=2, replace=False, p=p))
    probs = np.tile([0.7, 0.2, 0.1, 0.0], (30_000, 1))
    x = f(probs)
    assert x.shape == (30_000, 2) and x.dtype == np.int64
    assert (x[:, 0] != x[:, 1]).all() and (x != 3).all()
    assert_counts(x[:, 0], [0, 1, 2], [0.7, 0.2, 0.1])
    with pytest.raises(NotImplementedError, match="without replacement"):
        mrg.choice(size=2, p=probs)
    with pytest.raises(ValueError, match="Cannot sample without replacement"):
        th.function([p], mrg.choice(size=5, replace=False, p=p))(probs[:2])


def test_mrg_size_is_required_and_positive():
    mrg = MRG_RandomStreams(12)
    with pytest.raises(TypeError, match="size"):
        mrg.uniform(None)
    with pytest.raises(ValueError, match="<= 0"):
        mrg.uniform((3, 0))
    x = T.dvector("x")
    assert th.function([x], mrg.uniform(x.shape))(np.zeros(7)).shape == (7,)


def test_mrg_and_random_streams_with_one_seed_draw_different_numbers():
    a = draw(MRG_RandomStreams(77).uniform((50,)))
    b = draw(RandomStreams(77).uniform((50,)))
    assert not np.array_equal(a, b)


def test_module_paths_of_theano_programs_exist():
    assert T.shared_randomstreams.RandomStreams is RandomStreams
    assert th.sandbox.rng_mrg.MRG_RandomStreams is MRG_RandomStreams
    assert callable(T.raw_random.uniform)
