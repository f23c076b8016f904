"""Statistics over seeds: summaries with confidence intervals and significance tests.

Seeds are few (3-5), so the choices matter and are stated in every table: the sample
standard deviation (ddof=1), Student-t confidence intervals, Welch's t-test (no
equal-variance assumption) and the Mann-Whitney U test (no normality assumption).
"""
from __future__ import annotations

import math
import warnings
from collections.abc import Iterable
from dataclasses import dataclass

import numpy as np
from scipy import stats

CONFIDENCE = 0.95


@dataclass(frozen=True)
class Summary:
    """Mean, sample std and Student-t confidence interval of one metric over seeds."""

    n: int
    mean: float
    std: float
    ci_low: float
    ci_high: float


def clean(values: Iterable[float]) -> np.ndarray:
    """The finite values as floats (missing metrics and NaNs are not observations)."""
    array = np.asarray(list(values), dtype=float)
    return array[np.isfinite(array)]


def summarize(values: Iterable[float], confidence: float = CONFIDENCE) -> Summary:
    """``mean ± t_{n-1} · std/√n``; std and interval are NaN with fewer than two values."""
    array = clean(values)
    n = len(array)
    if n == 0:
        return Summary(0, math.nan, math.nan, math.nan, math.nan)
    mean = float(array.mean())
    if n < 2:
        return Summary(1, mean, math.nan, math.nan, math.nan)
    std = float(array.std(ddof=1))
    half = float(stats.t.ppf(0.5 + confidence / 2, df=n - 1)) * std / math.sqrt(n)
    return Summary(n, mean, std, mean - half, mean + half)


def welch_p(sample: Iterable[float], reference: Iterable[float], alternative: str = "two-sided") -> float:
    """Welch's t-test p-value; NaN when a side has fewer than two values or both are constant and equal."""
    a, b = clean(sample), clean(reference)
    if len(a) < 2 or len(b) < 2:
        return math.nan
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)
        return float(stats.ttest_ind(a, b, equal_var=False, alternative=alternative).pvalue)


def mann_whitney_p(sample: Iterable[float], reference: Iterable[float]) -> float:
    """Two-sided Mann-Whitney U p-value; NaN when a side is empty."""
    a, b = clean(sample), clean(reference)
    if len(a) == 0 or len(b) == 0:
        return math.nan
    return float(stats.mannwhitneyu(a, b, alternative="two-sided").pvalue)
