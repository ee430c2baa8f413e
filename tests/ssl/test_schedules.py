"""Schedules: endpoints, monotonicity, and ValueErrors naming the bad argument (pure Python)."""

import math

import pytest

from labelgraph.ssl.schedules import byol_momentum, cosine_schedule, warmup_cosine_schedule


def test_cosine_endpoints_and_midpoint():
    assert cosine_schedule(0, 101, 1.0, 0.1) == pytest.approx(1.0)
    assert cosine_schedule(50, 101, 1.0, 0.1) == pytest.approx(0.55)
    assert cosine_schedule(100, 101, 1.0, 0.1) == pytest.approx(0.1)
    assert cosine_schedule(500, 101, 1.0, 0.1) == pytest.approx(0.1)  # past the end: end value
    assert cosine_schedule(0, 1, 1.0, 0.1) == pytest.approx(0.1)


def test_cosine_is_monotone():
    values = [cosine_schedule(s, 50, 2.0, -1.0) for s in range(50)]
    assert all(a >= b for a, b in zip(values, values[1:]))


def test_warmup_then_cosine():
    values = [warmup_cosine_schedule(s, 100, 10, 1.0, 0.0) for s in range(100)]
    assert values[0] == pytest.approx(0.1)
    assert values[9] == pytest.approx(1.0)  # warm-up reaches the peak on its last step
    assert values[10] == pytest.approx(1.0)
    assert values[-1] == pytest.approx(0.0)
    assert all(a <= b for a, b in zip(values[:10], values[1:10]))
    assert warmup_cosine_schedule(3, 10, 0, 1.0) == pytest.approx(cosine_schedule(3, 10, 1.0, 0.0))


def test_byol_momentum_endpoints():
    assert byol_momentum(0, 1000, 0.996) == pytest.approx(0.996)
    assert byol_momentum(999, 1000, 0.996) == pytest.approx(1.0)
    mid = 1 - (1 - 0.99) * (math.cos(math.pi * 0.5) + 1) / 2
    assert byol_momentum(50, 101, 0.99) == pytest.approx(mid)


@pytest.mark.parametrize(
    ("call", "name"),
    [
        (lambda: cosine_schedule(-1, 10, 1.0, 0.0), "step"),
        (lambda: cosine_schedule(0, 0, 1.0, 0.0), "total_steps"),
        (lambda: cosine_schedule(0, 2.5, 1.0, 0.0), "total_steps"),
        (lambda: warmup_cosine_schedule(0, 10, 11, 1.0), "warmup_steps"),
        (lambda: warmup_cosine_schedule(0, 10, -1, 1.0), "warmup_steps"),
        (lambda: byol_momentum(0, 10, 1.5), "base_tau"),
        (lambda: byol_momentum(0, -3, 0.99), "total_steps"),
    ],
)
def test_bad_arguments_name_the_argument(call, name):
    with pytest.raises(ValueError, match=name):
        call()
