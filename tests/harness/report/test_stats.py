"""Seed statistics against hand-worked values: sample std, Student-t intervals, Welch, Mann–Whitney."""
from __future__ import annotations

import math
import warnings

import numpy as np
import pytest
from scipy import stats as scipy_stats

from harness.report.stats import clean, mann_whitney_p, summarize, welch_p

T_975_DF1 = 12.706204736174698  # Student t quantile 0.975, 1 degree of freedom (tables)
T_975_DF3 = 3.182446305284263


def test_clean_keeps_finite_values_as_floats():
    assert clean([1, None, "2.5", float("nan"), float("inf"), -3]).tolist() == [1.0, 2.5, -3.0]


def test_no_values_and_one_value():
    empty = summarize([])
    assert empty.n == 0 and all(math.isnan(v) for v in (empty.mean, empty.std, empty.ci_low, empty.ci_high))
    one = summarize([float("nan"), 5.0])
    assert one.n == 1 and one.mean == 5.0
    assert all(math.isnan(v) for v in (one.std, one.ci_low, one.ci_high))


def test_two_values_use_the_sample_std_and_t_with_one_degree_of_freedom():
    # mean 2, sample std √2, half-width t·√2/√2 = t
    summary = summarize([1.0, 3.0])
    assert summary.n == 2 and summary.mean == 2.0 and summary.std == pytest.approx(math.sqrt(2))
    assert (summary.ci_low, summary.ci_high) == pytest.approx((2 - T_975_DF1, 2 + T_975_DF1))


def test_four_values_by_hand():
    # mean 2.5, sample variance 5/3, half-width 3.1824·√(5/3)/2
    summary = summarize([1.0, 2.0, 3.0, 4.0])
    half = T_975_DF3 * math.sqrt(5 / 3) / 2
    assert summary.std == pytest.approx(math.sqrt(5 / 3))
    assert (summary.ci_low, summary.ci_high) == pytest.approx((2.5 - half, 2.5 + half))


def test_welch_p_by_hand():
    # a = (1, 2), b = (3, 5): t = −2.5/√(0.5/2 + 2/2), Welch–Satterthwaite df = 1.25²/(0.25² + 1²)
    t = -2.5 / math.sqrt(1.25)
    df = 1.25 ** 2 / (0.25 ** 2 + 1.0 ** 2)
    assert welch_p([1, 2], [3, 5]) == pytest.approx(2 * scipy_stats.t.cdf(t, df))
    assert welch_p([1, 2], [3, 5], alternative="less") == pytest.approx(scipy_stats.t.cdf(t, df))


@pytest.mark.parametrize("a, b", [([1.0], [1.0, 2.0]), ([1.0, 2.0], [1.0]), ([], [1.0, 2.0]), ([1.0, np.nan], [1, 2])])
def test_welch_p_needs_two_values_a_side(a, b):
    assert math.isnan(welch_p(a, b))


def test_welch_p_of_constant_equal_samples_is_nan_without_a_warning():
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        assert math.isnan(welch_p([2.0, 2.0], [2.0, 2.0]))


def test_mann_whitney_p_by_hand():
    # a = (1, 2) below b = (3, 4): U = 0, exact two-sided p = 2 · 1/C(4, 2) = 1/3
    assert mann_whitney_p([1, 2], [3, 4]) == pytest.approx(1 / 3)
    assert mann_whitney_p([1.0], [2.0]) == pytest.approx(1.0)  # U = 0, 2 · 1/C(2, 1)


@pytest.mark.parametrize("a, b", [([], [1.0]), ([1.0], []), ([np.nan], [1.0])])
def test_mann_whitney_p_needs_a_value_a_side(a, b):
    assert math.isnan(mann_whitney_p(a, b))
