"""A date of birth is the customer's age (whole years at the table's latest date of
something else), not "days since"; and a model whose features are computed from other
columns (an age, days since a last purchase) scores a file that has those columns."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from conftest import invoke
from custseg.derived import age_in_years
from custseg.roles import assign_roles
from custseg.schema import validate_table


def _customers(n: int = 400, seed: int = 0) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    group = rng.integers(0, 3, n)
    born = pd.Timestamp("1950-01-01") + pd.to_timedelta(
        np.array([3_000, 11_000, 17_000])[group] + rng.integers(0, 2_000, n), "D")
    last = pd.Timestamp("2024-06-30") - pd.to_timedelta(rng.integers(0, 300, n), "D")
    return pd.DataFrame({
        "customer_id": [f"C{i:04d}" for i in range(n)],
        "Date_of_Birth": born.strftime("%d/%m/%Y"),
        "Last_Purchase_Date": last.strftime("%Y-%m-%d"),
        "Total_Spend": np.round(rng.lognormal(np.array([5, 6, 7])[group], 0.3), 2),
        "Num_Orders": rng.poisson(np.array([3, 8, 15])[group]),
    })


def test_a_date_of_birth_is_an_age_at_the_latest_other_date() -> None:
    table = _customers()
    latest = table["Last_Purchase_Date"].max()
    fr = assign_roles(validate_table(table))
    dob = next(d for d in fr.decisions if d.column == "Date_of_Birth")
    assert (dob.role, dob.use, dob.feature) == ("date", "feature", "Age")
    assert f"age (whole years) as of {latest}" in dob.reason
    age = next(d for d in fr.derivations if d.name == "Age")
    assert (age.kind, age.reference, age.dayfirst) == ("age_at", latest, True)
    assert fr.role_of["Age"] == "age"
    ages = fr.frame["Age"]
    assert ages.min() >= 20 and ages.max() <= 75 and (ages == ages.round()).all()
    # the other date is still a recency
    assert "Days since last purchase" in fr.features


def test_without_another_date_the_age_is_taken_on_1_january() -> None:
    fr = assign_roles(validate_table(_customers().drop(columns="Last_Purchase_Date")))
    age = next(d for d in fr.derivations if d.name == "Age")
    assert age.reference == f"{dt.date.today().year}-01-01"


@pytest.mark.parametrize(("born", "age"), [("2000-02-29", 24.0), ("2000-03-01", 23.0),
                                           ("2000-02-28", 24.0)])
def test_whole_years_count_the_birthday(born: str, age: float) -> None:
    got = age_in_years(pd.Series(pd.to_datetime([born])), pd.Timestamp("2024-02-29"))
    assert got.tolist() == [age]


def test_a_model_of_derived_features_scores_its_own_file(tmp_path: Path) -> None:
    path = tmp_path / "customers.csv"
    _customers().to_csv(path, index=False)
    proc = invoke("segment", str(path), "--k", "3", "--out", "run", "-q", cwd=tmp_path)
    assert proc.exit_code == 0, proc.stderr
    proc = invoke("score", "run/model", str(path), "--out", "scored.csv", "-q", cwd=tmp_path)
    assert proc.exit_code == 0, proc.stderr
    seg = pd.read_csv(tmp_path / "run" / "segments.csv").set_index("customer_id")
    scored = pd.read_csv(tmp_path / "scored.csv").set_index("customer_id")
    assert (scored["segment"] == seg["segment"]).all()
    # without the date of birth, the error names it and what is computed from it
    _customers().drop(columns="Date_of_Birth").to_csv(tmp_path / "no_dob.csv", index=False)
    proc = invoke("score", "run/model", "no_dob.csv", "--out", "x.csv", cwd=tmp_path)
    assert proc.exit_code == 3 and "Date_of_Birth" in proc.stderr and "'Age'" in proc.stderr
