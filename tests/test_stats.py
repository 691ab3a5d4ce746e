import numpy as np
import pandas as pd
import pytest

from sim.metrics.stats import group_summary, paired_differences
from sim.metrics.summary import MetricsError, mean_ci


def _runs():
    # delay = seed noise + controller effect; pairing on the seed removes the noise
    rows = []
    for seed in range(6):
        noise = [0.0, 40.0, -30.0, 15.0, -10.0, 25.0][seed]
        for ctrl, effect in (("fixed_time", 100.0), ("max_pressure", 80.0)):
            rows.append({"controller": ctrl, "seed": seed, "delay": effect + noise, "scale": 1.0})
    return pd.DataFrame(rows)


def test_group_summary_mean_and_t_interval():
    out = group_summary(_runs(), ["controller"], ["delay"]).set_index("controller")
    sample = 100.0 + np.array([0.0, 40.0, -30.0, 15.0, -10.0, 25.0])
    half = 2.5706 * sample.std(ddof=1) / np.sqrt(6)
    assert out.loc["fixed_time", "mean"] == pytest.approx(sample.mean())
    assert out.loc["fixed_time", "half_width"] == pytest.approx(half, rel=1e-3)
    assert out.loc["fixed_time", "n"] == 6


def test_paired_difference_removes_common_noise():
    out = paired_differences(_runs(), "controller", "fixed_time", ["delay"], by=["scale"])
    row = out.iloc[0]
    assert row["controller"] == "max_pressure"
    assert row["n"] == 6
    assert row["mean_diff"] == pytest.approx(-20.0)
    assert row["ci_high"] - row["ci_low"] == pytest.approx(0.0, abs=1e-9)
    assert row["change_pct"] == pytest.approx(-20.0 / (100.0 + 40.0 / 6) * 100.0)


def test_unknown_baseline_and_missing_columns_are_named():
    with pytest.raises(MetricsError, match="baseline 'actuated' not among"):
        paired_differences(_runs(), "controller", "actuated", ["delay"])
    with pytest.raises(MetricsError, match=r"lacks column\(s\) \['queue'\]"):
        group_summary(_runs(), ["controller"], ["queue"])


@pytest.mark.parametrize("df", [1, 2, 4, 9, 29, 99, 101, 250, 1000])
@pytest.mark.parametrize("confidence", [0.9, 0.95, 0.99])
def test_every_interval_uses_scipys_t_quantile(df, confidence):
    from scipy import stats

    rng = np.random.default_rng(df)
    base = rng.normal(100.0, 20.0, size=df + 1)
    treated = base - 10.0 + rng.normal(0.0, 5.0, size=df + 1)
    runs = pd.DataFrame(
        {
            "controller": ["fixed_time"] * (df + 1) + ["max_pressure"] * (df + 1),
            "seed": [*range(df + 1)] * 2,
            "delay": [*base, *treated],
        }
    )
    t = stats.t.ppf((1 + confidence) / 2, df)
    means = group_summary(runs, ["controller"], ["delay"], confidence).set_index("controller")
    assert means.loc["fixed_time", "half_width"] == pytest.approx(t * stats.sem(base), rel=1e-12)
    diffs = paired_differences(runs, "controller", "fixed_time", ["delay"], confidence=confidence)
    expected = t * stats.sem(treated - base)
    assert (diffs["ci_high"] - diffs["ci_low"]).iloc[0] / 2 == pytest.approx(expected, rel=1e-9)
    _, half_width = mean_ci(base, confidence)
    assert half_width == pytest.approx(t * stats.sem(base), rel=1e-12)


def test_t_quantile_is_not_the_normal_quantile_for_few_runs():
    # the Student-t interval of 3 runs is ~2.2 times wider than a normal (z) interval would be
    _, half_width = mean_ci([1.0, 2.0, 3.0])
    assert half_width / (1.0 / np.sqrt(3)) == pytest.approx(4.302653, abs=1e-6)
