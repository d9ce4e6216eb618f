"""Population drift: PSI against the training deciles, and the re-segment verdict."""

from __future__ import annotations

import numpy as np
import pytest

from custseg.bundle import fingerprint
from custseg.drift import (
    MIN_SAMPLE,
    decile_bins,
    drift_report,
    psi,
    status_of,
)


def reference_of(sample):
    return {"type": "numeric",
            "deciles": np.quantile(sample, np.linspace(0, 1, 11)).tolist()}


def test_psi_known_values():
    assert psi([0.25] * 4, [0.25] * 4) == 0
    # (0.4-0.25)ln(0.4/0.25) + (0.1-0.25)ln(0.1/0.25) + 0 + 0
    want = 0.15 * np.log(1.6) + (-0.15) * np.log(0.4)
    assert psi([0.25] * 4, [0.4, 0.1, 0.25, 0.25]) == pytest.approx(want)
    assert np.isfinite(psi([0.5, 0.5], [1.0, 0.0]))  # an empty bin is floored, not infinite


def test_thresholds():
    assert [status_of(x) for x in (0.0, 0.1, 0.1001, 0.25, 0.2501)] == \
        ["stable", "stable", "moderate", "moderate", "significant"]


@pytest.mark.parametrize("shift,status", [(0.0, "stable"), (0.4, "moderate"),
                                          (1.0, "significant")])
def test_numeric_drift_grows_with_the_shift(shift, status):
    rng = np.random.default_rng(0)
    ref = {"x": reference_of(rng.normal(0, 1, 20_000))}
    report = drift_report(ref, {"x": rng.normal(shift, 1, 20_000)})
    assert report.features["x"].status == status
    assert report.resegment_recommended == (status == "significant")
    assert sum(report.features["x"].actual) == pytest.approx(1)


def test_point_masses_do_not_look_like_drift():
    # a frequency-like feature: 55% bought once; a fresh sample of the same population
    rng = np.random.default_rng(1)

    def draw(n):
        return rng.choice([1, 2, 3, 4, 5, 8, 13], p=[.55, .2, .1, .08, .04, .02, .01], size=n)

    ref = {"frequency": reference_of(draw(10_000))}
    same = drift_report(ref, {"frequency": draw(5_000)})
    assert same.features["frequency"].psi < 0.1, same.features["frequency"]
    more = drift_report(ref, {"frequency": draw(5_000) + 2})
    assert more.resegment_recommended


def test_whole_numbers_at_the_edges_are_split():
    # a frequency around 18: every decile is a whole number carrying 5-8% of the customers;
    # counting them all below the edge would show a PSI near 0.1 for the same population
    rng = np.random.default_rng(4)
    ref = {"f": reference_of(rng.poisson(18, 7000))}
    assert drift_report(ref, {"f": rng.poisson(18, 7000)}).features["f"].psi < 0.02
    assert drift_report(ref, {"f": rng.poisson(23, 7000)}).features["f"].status == \
        "significant"


def test_decile_bins_merge_equal_deciles():
    edges, shares = decile_bins([1, 1, 1, 1, 1, 1, 2, 2, 3, 5, 40])
    assert edges.tolist() == [1, 2, 3, 5]
    assert shares.sum() == pytest.approx(1)
    assert shares[0] == pytest.approx(0.5)
    with pytest.raises(ValueError):
        decile_bins([1, 2, 3])


def test_categorical_drift():
    ref = {"channel": {"type": "categorical", "shares": {"web": 0.6, "shop": 0.4}}}
    same = drift_report(ref, {"channel": ["web"] * 300 + ["shop"] * 200})
    assert same.features["channel"].status == "stable"
    new = drift_report(ref, {"channel": ["web"] * 200 + ["app"] * 300})
    assert new.features["channel"].status == "significant"
    assert new.features["channel"].bins[-1] == "(other)"


def test_missing_values_are_counted_apart():
    rng = np.random.default_rng(2)
    ref = {"x": reference_of(rng.normal(0, 1, 5000))}
    values = np.concatenate([rng.normal(0, 1, 500), [np.nan] * 50])
    d = drift_report(ref, {"x": values}).features["x"]
    assert (d.n, d.missing, d.status) == (500, 50, "stable")


def test_no_verdict_on_too_few_customers():
    rng = np.random.default_rng(3)
    ref = {"x": reference_of(rng.normal(0, 1, 5000))}
    report = drift_report(ref, {"x": rng.normal(5, 1, MIN_SAMPLE - 1)})
    assert report.features["x"].status == "significant"
    assert not report.enough_data and not report.resegment_recommended
    assert "not enough" in report.reason


def test_the_training_data_does_not_drift_from_itself(mall_path):
    from custseg import Segmenter, load_table

    df = load_table(mall_path)
    feats = ["Age", "Annual Income (k$)", "Spending Score (1-100)"]
    seg = Segmenter(k=5, features=feats, random_state=0).fit(df)
    values = df[feats].apply(lambda s: s.astype(float))
    report = drift_report(fingerprint(seg, df), {f: values[f].to_numpy() for f in feats})
    assert report.max_psi < 0.05, report.to_dict()
    assert report.to_dict()["thresholds"] == {"moderate": 0.1, "significant": 0.25}
    older = values[values["Age"] > 35]
    shifted = drift_report(fingerprint(seg, df), {f: older[f].to_numpy() for f in feats})
    assert shifted.features["Age"].status == "significant"
    assert "Age" in shifted.reason and shifted.resegment_recommended
