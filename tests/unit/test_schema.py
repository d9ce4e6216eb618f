"""Column roles and data checks (custseg.schema.validate_table)."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from custseg.errors import EXIT_DATA, EXIT_USAGE, DataError, UsageError
from custseg.io import read_table
from custseg.schema import validate_table

N = 40


def _numbers(seed: int, n: int = N, loc: float = 50, scale: float = 10) -> list[str]:
    """Numbers written as text, as read from a CSV file."""
    rng = np.random.default_rng(seed)
    return [f"{v:.2f}" for v in rng.normal(loc, scale, n)]


def _table(n: int = N, **columns: list) -> pd.DataFrame:
    base = {"income": _numbers(1, n), "spend": _numbers(2, n, 10, 3)}
    base.update(columns)
    return pd.DataFrame(base)


def _problem(err_or_list, code):
    problems = err_or_list.problems if isinstance(err_or_list, DataError) else err_or_list
    found = [p for p in problems if p.code == code]
    assert found, f"no {code!r} problem in {[p.describe() for p in problems]}"
    return found[0]


# ------------------------------------------------------------------ roles: the id


def test_id_by_name_in_mall_data(mall_path):
    df, _ = read_table(mall_path)
    t = validate_table(df)
    assert t.roles.id_column == "CustomerID"
    assert t.roles.categorical == ["Genre"]
    assert t.features == ["Age", "Annual Income (k$)", "Spending Score (1-100)"]
    assert "CustomerID" not in t.features
    assert t.frame["CustomerID"].iloc[0] == "0001"  # the id is kept as written


@pytest.mark.parametrize("name", ["CustomerID", "client_no", "key", "Member Number", "id",
                                  "user-key", "account_nr", "GuestID", "policyId",
                                  "StoreIDs", "Patient_ID"])
def test_id_by_name(name):
    ids = [str(1000 + 7 * i) for i in range(N)]  # not consecutive: only the name tells
    t = validate_table(_table(**{name: ids}))
    assert t.roles.id_column == name
    assert name not in t.features


@pytest.mark.parametrize("name", ["Paid", "VALID", "Idle", "Ideas", "avoidance"])
def test_words_holding_id_are_not_ids(name):
    """Unique integers that are not consecutive, under a name that only contains the
    letters "id": a measure, not an id."""
    from custseg.schema import ID_NAME

    assert ID_NAME.search(name) is None, name


def test_id_as_codes():
    codes = [f"CS{1112 + 3 * i}" for i in range(N)]
    t = validate_table(_table(ref=codes))
    assert t.roles.id_column == "ref"


def test_id_as_consecutive_integers_in_any_order():
    rng = np.random.default_rng(0)
    numbers = [str(v) for v in rng.permutation(np.arange(101, 101 + N))]
    t = validate_table(_table(row=numbers))
    assert t.roles.id_column == "row"
    assert t.features == ["income", "spend"]


def test_consecutive_integer_id_from_typed_data():
    df = pd.DataFrame({"n": np.arange(1, N + 1), "income": np.linspace(1, 9, N) ** 2,
                       "spend": np.cos(np.arange(N))})
    assert validate_table(df).roles.id_column == "n"


def test_unique_but_not_identifier_like_numbers_are_not_an_id():
    # unique, never missing, but neither named like an id nor consecutive: a feature
    values = [str(1000 + 7 * i) for i in range(N)]
    t = validate_table(_table(amount=values))
    assert t.roles.id_column is None
    assert "amount" in t.features


def test_no_id_in_wholesale_data(wholesale_path):
    df, _ = read_table(wholesale_path)
    t = validate_table(df)
    assert t.roles.id_column is None
    assert t.roles.categorical == ["Channel", "Region"]
    assert t.features == ["Fresh", "Milk", "Grocery", "Frozen", "Detergents_Paper",
                          "Delicassen"]


def test_explicit_empty_id_col_means_no_id():
    t = validate_table(_table(CustomerID=[f"C{i}" for i in range(N)]), id_col="")
    assert t.roles.id_column is None


def test_explicit_id_col():
    values = [str(1000 + 7 * i) for i in range(N)]
    t = validate_table(_table(amount=values), id_col="amount")
    assert t.roles.id_column == "amount"
    assert "amount" not in t.features


# ------------------------------------------------------------------ roles: other columns


def test_categorical_text():
    t = validate_table(_table(Genre=["Male", "Female"] * (N // 2),
                              City=["Paris", "Lyon", "Nice", "Lille"] * (N // 4)))
    assert t.roles.categorical == ["Genre", "City"]
    assert t.features == ["income", "spend"]
    assert t.frame["Genre"].tolist()[:2] == ["Male", "Female"]


def test_categorical_features_with_use_categorical():
    t = validate_table(_table(Genre=["Male", "Female"] * (N // 2)), use_categorical=True)
    assert t.features == ["income", "spend", "Genre"]
    assert t.categorical_features == ["Genre"]


@pytest.mark.parametrize("levels", [["1", "2"], ["1", "2", "3"]])
def test_integer_codes_with_few_levels_are_categorical(levels):
    codes = (levels * N)[:N]
    t = validate_table(_table(Channel=codes))
    assert "Channel" in t.roles.categorical
    assert "Channel" not in t.roles.numeric
    assert "Channel" not in t.features
    assert sorted(set(t.frame["Channel"])) == levels


def test_integer_codes_with_four_levels_are_numeric():
    t = validate_table(_table(Stars=(["1", "2", "3", "4"] * N)[:N]))
    assert "Stars" in t.roles.numeric and "Stars" in t.features


def test_requested_integer_codes_stay_numeric():
    t = validate_table(_table(Channel=(["1", "2"] * N)[:N]), features=["income", "Channel"])
    assert t.features == ["income", "Channel"]
    assert t.frame["Channel"].dtype == np.float64


@pytest.mark.parametrize("unique", [True, False], ids=["unique", "repeated"])
def test_dates(unique):
    days = pd.date_range("2021-01-01", periods=N, freq="D" if unique else "7D")
    text = days.strftime("%Y-%m-%d").tolist()
    if not unique:
        text = text[: N // 2] * 2
    t = validate_table(_table(signup=text))
    assert t.roles.dates == ["signup"]
    assert t.roles.id_column is None  # unique dates are not an id
    assert "signup" not in t.features


def test_typed_dates_do_not_crash():
    df = pd.DataFrame({"when": pd.date_range("2020-01-01", periods=N),
                       "income": np.linspace(1, 2, N), "spend": np.sin(np.arange(N))})
    t = validate_table(df)
    assert t.roles.dates == ["when"]
    assert t.features == ["income", "spend"]


def test_free_text_ignored():
    notes = [f"called on day {i}, wants a call back" for i in range(N)]
    t = validate_table(_table(notes=notes))
    assert "notes" in t.roles.ignored
    assert "40 distinct" in t.roles.ignored["notes"]
    assert t.roles.id_column is None  # unique, never missing, but not identifier-like
    assert "notes" not in t.features + t.roles.categorical


def test_pandas_categorical_and_nested_values_do_not_crash():
    df = pd.DataFrame({"g": pd.Categorical([f"g{i}" for i in range(N)]),
                       "tags": [[i, i + 1] for i in range(N)],
                       "income": np.linspace(1, 2, N), "spend": np.sin(np.arange(N))})
    t = validate_table(df)
    assert t.features == ["income", "spend"]
    assert {"g", "tags"} <= set(t.roles.ignored)


def test_numbers_with_decimal_commas():
    t = validate_table(_table(amount=[f"{i},5" for i in range(N)]))
    assert t.frame["amount"].iloc[:3].tolist() == [0.5, 1.5, 2.5]


# ------------------------------------------------------------------ checks: features


def test_no_usable_numeric_feature():
    df = pd.DataFrame({"Genre": ["Male", "Female"] * (N // 2),
                       "name": [f"person {i} of the list" for i in range(N)]})
    with pytest.raises(DataError, match="no usable numeric feature") as err:
        validate_table(df)
    assert err.value.exit_code == EXIT_DATA
    assert _problem(err.value, "no-features").column is None


def test_only_constant_numbers_is_no_usable_feature():
    df = pd.DataFrame({"id": [f"C{i}" for i in range(N)], "x": ["5"] * N})
    with pytest.raises(DataError, match=r"no usable numeric feature.*x dropped: constant"):
        validate_table(df)


@pytest.mark.parametrize("empty", [[""] * N, [" "] * N, ["?", "n/a"] * (N // 2),
                                   [np.nan] * N, [None] * N],
                         ids=["blank", "spaces", "markers", "nan", "none"])
def test_all_missing_column_inferred_is_dropped_with_a_warning(empty):
    t = validate_table(_table(extra=empty))
    assert t.features == ["income", "spend"]
    assert "extra" not in t.roles.categorical + t.roles.numeric
    w = _problem(t.warnings, "all-missing")
    assert w.column == "extra" and w.severity == "warning"
    assert t.cleaning["columns_dropped"] == {"extra": "all missing"}


@pytest.mark.parametrize("empty", [[""] * N, [np.nan] * N], ids=["blank", "nan"])
def test_all_missing_column_requested_is_an_error(empty):
    with pytest.raises(DataError, match=r"column 'extra': has no values \(all missing\)"
                       ) as err:
        validate_table(_table(extra=empty), features=["income", "extra"])
    assert _problem(err.value, "all-missing").column == "extra"


def test_constant_column_dropped_with_a_warning():
    t = validate_table(_table(plan=["12"] * N))
    assert t.features == ["income", "spend"]
    w = _problem(t.warnings, "constant")
    assert w.column == "plan" and w.severity == "warning"
    assert "constant (12)" in w.message
    assert t.cleaning["columns_dropped"] == {"plan": "constant"}


def test_requested_id_as_feature_is_an_error():
    with pytest.raises(DataError, match="id column and cannot be a feature"):
        validate_table(_table(CustomerID=[f"C{i}" for i in range(N)]),
                       features=["income", "CustomerID"])


def test_requested_date_feature_is_an_error():
    df = _table(when=pd.date_range("2020-01-01", periods=N))
    with pytest.raises(DataError, match="'when': cannot be a feature: it is a date column"):
        validate_table(df, features=["income", "when"])


# ------------------------------------------------------------------ checks: duplicates


def _with_ids(n: int = N) -> pd.DataFrame:
    return _table(n, customer_id=[f"C{i:03d}" for i in range(1, n + 1)])


def test_exact_duplicate_rows_are_dropped_with_a_warning():
    df = _with_ids()
    df = pd.concat([df, df.iloc[[3, 7]]], ignore_index=True)
    t = validate_table(df)
    assert t.roles.id_column == "customer_id"
    assert len(t.frame) == N
    assert t.kept_rows.tolist() == list(range(N))
    w = _problem(t.warnings, "duplicate-row")
    assert w.rows == [N + 1, N + 2]
    assert t.cleaning["duplicate_rows_dropped"] == 2


def test_exact_duplicate_rows_without_id_are_dropped():
    df = _table()
    df = pd.concat([df, df.iloc[[0]]], ignore_index=True)
    t = validate_table(df)
    assert t.roles.id_column is None
    assert len(t.frame) == N
    assert _problem(t.warnings, "duplicate-row").rows == [N + 1]


def test_conflicting_duplicate_ids_are_an_error():
    df = _with_ids()
    twin = df.iloc[[4]].copy()
    twin["income"] = "999"
    df = pd.concat([df, twin], ignore_index=True)
    with pytest.raises(DataError, match=r"column 'customer_id'.*different data.*'C005' "
                       r"\(row 5\), 'C005' \(row 41\)") as err:
        validate_table(df)
    p = _problem(err.value, "duplicate-id")
    assert p.column == "customer_id"
    assert p.rows == [5, N + 1]
    assert p.values == ["C005", "C005"]


def test_conflicting_id_also_listed_when_an_exact_twin_exists():
    df = _with_ids()
    changed = df.iloc[[2]].copy()
    changed["spend"] = "-1"
    df = pd.concat([df, df.iloc[[2]], changed], ignore_index=True)  # rows 3, 41, 42
    with pytest.raises(DataError) as err:
        validate_table(df)
    assert _problem(err.value, "duplicate-id").rows == [3, N + 1, N + 2]


def test_conflicting_duplicate_ids_with_explicit_id_col():
    df = _table(ref=[f"R{i % (N - 1)}" for i in range(N)])  # R0 twice, different data
    with pytest.raises(DataError, match="'ref'") as err:
        validate_table(df, id_col="ref")
    assert _problem(err.value, "duplicate-id").rows == [1, N]


# ------------------------------------------------------------------ checks: junk and markers


def test_junk_under_max_junk_is_coerced_with_a_warning():
    income = _numbers(1, 100)
    income[2], income[50] = "12k", "abc"  # 2% of the column
    df = _table(100, income=income)
    t = validate_table(df)
    assert np.isnan(t.frame["income"].iloc[2]) and np.isnan(t.frame["income"].iloc[50])
    assert t.frame["income"].notna().sum() == 98
    w = _problem(t.warnings, "junk")
    assert (w.column, w.severity, w.rows, w.values) == ("income", "warning", [3, 51],
                                                        ["12k", "abc"])
    assert t.cleaning["junk_coerced"] == {"income": 2}


def test_junk_past_max_junk_is_an_error_naming_column_values_and_rows():
    income = _numbers(1)
    for i, v in [(2, "12k"), (5, "abc"), (9, "1O5"), (20, "n.a.")]:  # 10%
        income[i] = v
    with pytest.raises(DataError, match=r"column 'income': 4 non-numeric value.*`max_junk`.*"
                       r"'12k' \(row 3\), 'abc' \(row 6\), '1O5' \(row 10\), 'n\.a\.' "
                       r"\(row 21\)") as err:
        validate_table(_table(income=income))
    assert err.value.column == "income"
    assert _problem(err.value, "junk").rows == [3, 6, 10, 21]


def test_max_junk_is_configurable():
    income = _numbers(1)
    income[2], income[5], income[9], income[20] = "12k", "abc", "x", "y"  # 10%
    t = validate_table(_table(income=income), max_junk=0.2)
    assert _problem(t.warnings, "junk").rows == [3, 6, 10, 21]
    with pytest.raises(UsageError, match="max_junk"):
        validate_table(_table(), max_junk=1.5)


@pytest.mark.parametrize("marker", ["?", "n/a", "NA", "N/A", "-", "null", "NaN", " none "])
def test_missing_markers_are_missing_not_junk(marker):
    income = _numbers(1)
    for i in range(0, N, 3):  # a third of the column: far above max_junk
        income[i] = marker
    t = validate_table(_table(income=income))
    assert t.frame["income"].isna().sum() == len(range(0, N, 3))
    assert "junk" not in [p.code for p in t.warnings]
    w = _problem(t.warnings, "missing-marker")
    assert w.column == "income" and w.rows[:2] == [1, 4]
    assert t.cleaning["missing_markers"] == {"income": len(range(0, N, 3))}
    assert t.cleaning["missing_values"] == {"income": len(range(0, N, 3))}


@pytest.mark.parametrize("inf", ["inf", "-inf", "Infinity", "1e999"])
def test_infinities_are_an_error_with_rows(inf):
    income = _numbers(1)
    income[6] = inf
    with pytest.raises(DataError, match=r"column 'income': 1 infinite value.*\(row 7\)") as err:
        validate_table(_table(income=income))
    assert _problem(err.value, "infinite").rows == [7]


def test_typed_infinities_are_an_error():
    df = pd.DataFrame({"a": np.r_[np.arange(N - 1.0), np.inf], "b": np.arange(N) % 7})
    with pytest.raises(DataError, match=rf"column 'a'.*infinite.*\(row {N}\)"):
        validate_table(df)


@pytest.mark.parametrize("value", ["1e300", "-2.5e120"])
def test_numbers_too_large_to_compute_with_are_an_error(value):
    income = _numbers(1)
    income[3] = value
    with pytest.raises(DataError, match=rf"column 'income': 1 value\(s\) too large.*'{value}' "
                       r"\(row 4\)"):
        validate_table(_table(income=income))


def test_large_but_sane_numbers_are_fine():
    t = validate_table(_table(income=[str(10.0 ** (i % 15)) for i in range(N)]))
    assert t.frame["income"].max() == 1e14


# ------------------------------------------------------------------ checks: rows


def test_fewer_customers_than_min_rows():
    with pytest.raises(DataError, match=r"only 4 customer.*fewer than the 5 segments") as err:
        validate_table(_table(4), min_rows=5)
    assert _problem(err.value, "too-few-rows").column is None
    assert validate_table(_table(5), min_rows=5).frame.shape[0] == 5


def test_duplicates_do_not_count_as_customers():
    df = _table(3)
    df = pd.concat([df, df], ignore_index=True)
    with pytest.raises(DataError, match="only 3 customer"):
        validate_table(df, min_rows=4)


# ------------------------------------------------------------------ all problems together


def test_several_problems_reported_together():
    income = _numbers(1)
    for i in (1, 4, 8, 12):
        income[i] = "12k"
    spend = _numbers(2)
    spend[9] = "inf"
    df = _table(income=income, spend=spend, empty=[""] * N,
                customer_id=[f"C{i}" for i in range(N - 1)] + ["C0"])
    with pytest.raises(DataError) as err:
        validate_table(df, features=["income", "spend", "empty"])
    codes = {p.code: p.column for p in err.value.problems}
    assert len(err.value.problems) >= 2
    assert codes["junk"] == "income"
    assert codes["infinite"] == "spend"
    assert codes["all-missing"] == "empty"
    assert codes["duplicate-id"] == "customer_id"
    text = str(err.value)
    assert text.startswith(f"{len(err.value.problems)} problems in the data:")
    for col in ("income", "spend", "empty", "customer_id"):
        assert f"column '{col}'" in text


# ------------------------------------------------------------------ options naming columns


@pytest.mark.parametrize(
    ("option", "kwargs"),
    [("features", {"features": ["income", "Income (k$)"]}),
     ("exclude", {"exclude": ["nope"]}),
     ("id_col", {"id_col": "nope"}),
     ("categorical", {"categorical": ["nope"]})],
)
def test_unknown_column_in_an_option_is_a_usage_error(option, kwargs):
    with pytest.raises(UsageError, match=rf"`{option}`: column.*not in the data\. Columns in the "
                       r"data: \['income', 'spend', 'Genre'\]") as err:
        validate_table(_table(Genre=["a", "b"] * (N // 2)), **kwargs)
    assert err.value.exit_code == EXIT_USAGE
    assert err.value.parameter == option
    assert not isinstance(err.value, DataError)


def test_exclude_and_forced_categorical():
    t = validate_table(_table(Stars=(["1", "2", "3", "4"] * N)[:N]), exclude=["spend"],
                       categorical=["Stars"])
    assert t.features == ["income"]
    assert "Stars" in t.roles.categorical


def test_duplicated_column_names_are_an_error():
    df = pd.DataFrame([["1", "2", "3"]] * N, columns=["a", "a", "b"])
    with pytest.raises(DataError, match="'a': appears 2 times in the header"):
        validate_table(df)


# ------------------------------------------------------------------ the input is not modified


@pytest.mark.parametrize("raises", [False, True])
def test_input_dataframe_not_modified(raises):
    income = _numbers(1)
    income[3], income[4] = "?", " 12,5 "
    if raises:
        income[5] = "inf"
    df = _table(income=income, Channel=(["1", "2"] * N)[:N], CustomerID=list(range(N)),
                empty=[""] * N, when=pd.date_range("2020-01-01", periods=N))
    df.index = pd.RangeIndex(100, 100 + N)
    df.columns = ["income", "spend", "Channel", "CustomerID", "empty", "when"]
    before = df.copy(deep=True)
    if raises:
        with pytest.raises(DataError):
            validate_table(df)
    else:
        t = validate_table(df, use_categorical=True)
        assert t.frame["income"].iloc[4] == 12.5
        assert t.frame.index.tolist() == list(range(N))
    pd.testing.assert_frame_equal(df, before)
    assert df.index.tolist() == list(range(100, 100 + N))


@pytest.mark.parametrize(("cells", "expected"), [
    (["1,234", "2,500", "999"], [1234.0, 2500.0, 999.0]),  # thousands separators
    (["12,5", "3,75", "1,234"], [12.5, 3.75, 1.234]),  # decimal commas
    (["1,234.5", "12"], [1234.5, 12.0]),
    (["12,5", "7"], [12.5, 7.0]),
    # accounting formats: negatives in brackets, groups of digits set apart by spaces
    # (no-break ones too) or apostrophes, then the commas read as any cell's
    (["(1,234.50)", "($12)", "(7 %)", "3"], [-1234.5, -12.0, -7.0, 3.0]),
    (["118 676.39", "1\u00a0234", "12\u202f345,5", "1'234.5", "9"],
     [118676.39, 1234.0, 12345.5, 1234.5, 9.0]),
])
def test_commas_in_numbers(cells, expected):
    from custseg.schema import parse_numeric

    assert parse_numeric(pd.Series(cells)).values.tolist() == expected


def test_a_totals_row_is_dropped_with_a_warning():
    """A row summing the others ("Total", "Grand total:") at either end of the table is not
    a customer: dropped, said and counted; a customer whose first cell is a name is kept."""
    rows = [[f"C{i}", str(10 + i), str(i % 7)] for i in range(30)]
    df = pd.DataFrame([*rows, ["Grand total:", "735", "88"]], columns=["id", "spend", "visits"])
    t = validate_table(df)
    assert len(t.frame) == 30 and "Grand total:" not in t.frame["id"].tolist()
    w = _problem(t.warnings, "totals-row")
    assert w.rows == [31] and "'Grand total:'" in w.message
    assert t.cleaning["total_rows_dropped"] == 1
    named = pd.DataFrame([["Total Sports Ltd", "5", "1"], *rows], columns=["id", "spend", "visits"])
    assert len(validate_table(named).frame) == 31


def test_a_few_reused_ids_are_a_warning_and_the_rows_stay_customers():
    """A public credit-card table gives 5 of its 660 customer keys to two rows each with
    different data: the run goes on, the rows kept as customers of their own, and the
    warning names them; as many on most rows is still an error (not one row a customer)."""
    from custseg.schema import MAX_REUSED_ID_SHARE

    n = 660
    df = pd.DataFrame({"Customer Key": [str(10_000 + i) for i in range(n)],
                       "limit": [str(1000 * (i % 50 + 1)) for i in range(n)],
                       "visits": [str(i % 7) for i in range(n)]})
    df.loc[[100, 400], "Customer Key"] = df.loc[[40, 80], "Customer Key"].to_numpy()
    checked = validate_table(df)
    assert len(checked.frame) == n
    warning = _problem(checked.warnings, "duplicate-id")
    assert warning.severity == "warning" and warning.rows == [41, 81, 101, 401]
    assert "kept as customers of their own" in warning.message
    assert MAX_REUSED_ID_SHARE * n >= 4
    many = df.assign(**{"Customer Key": [str(i % 300) for i in range(n)]})
    with pytest.raises(DataError, match="transaction log"):
        validate_table(many, id_col="Customer Key")
