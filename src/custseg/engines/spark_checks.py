"""The Spark engine's checks: roles inferred on the first rows, then every check on all rows
in Spark (junk, markers, infinities, constant columns, duplicates, ids)
(:mod:`custseg.engines.spark`)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from custseg.engines.base import new_cleaning, not_trait_warnings, record_unreadable
from custseg.engines.spark_read import (
    NumericColumn,
    parse_expr,
    scan_text_columns,
    spark_col,
)
from custseg.engines.spark_run import SparkRunState
from custseg.errors import DataError, Problem, UsageError

if TYPE_CHECKING:

    pass


#: Warnings of the first rows' checks that the engine counts again on every row.
ROW_COUNTED = ("junk", "missing-marker", "duplicate-row", "duplicate-id", "constant",
               "all-missing")
#: Rows looked at on the driver to infer column roles (as custseg.schema does).
ROLE_SAMPLE = 10_000


@dataclass
class Checked:
    """The data after the checks: ``base`` (deduplicated input, cached), ``typed`` (key,
    parsed numeric columns ``__num*``, trimmed categorical ones ``__cat*``), the roles, the
    numeric columns, the features read (``feats``) and kept, the features whose role is
    ``money`` on the first rows (``money``: amounts the signed log may take), the role
    profiling words each column by (``role_of``: :func:`custseg.roles.assign_roles` on the
    first rows, as the standard engine's on every row) and the describing columns that
    repeat a feature (``echoes``, likewise), cleaning and findings."""

    base: Any
    roles: Any
    key: str
    data_cols: list[str]
    n: int
    typed: Any = None
    numeric: list[str] = field(default_factory=list)
    cols: dict[str, NumericColumn] = field(default_factory=dict)
    feats: list[str] = field(default_factory=list)
    kept: list[str] = field(default_factory=list)
    money: list[str] = field(default_factory=list)
    role_of: dict[str, str] = field(default_factory=dict)
    #: describing columns that move with a feature (``echoes`` of the same roles)
    echoes: dict[str, str] = field(default_factory=dict)
    #: features left out because they move with an earlier one (the same roles')
    near_duplicates: list[dict[str, Any]] = field(default_factory=list)
    cleaning: dict[str, Any] = field(default_factory=dict)
    warns: list[Problem] = field(default_factory=list)
    problems: list[Problem] = field(default_factory=list)


class SparkChecks(SparkRunState):
    """Stage 2 of a run: roles, parsing and the checks on every row."""

    # ------------------------------------------------------------------ 2. validate, roles
    def check(self, raw: Any, n_rows: int, *, features: Sequence[str] | None,
              id_col: str | None, exclude: Sequence[str] | None, max_junk: float,
              k_values: list[int]) -> Checked:
        """Roles from the first rows (:func:`custseg.schema.validate_table`; the money
        role by :func:`custseg.roles.money_columns`), exact duplicate rows dropped, every
        numeric column parsed and checked on all rows."""
        from pyspark.sql import functions as F

        from custseg.labels import check_value_columns
        from custseg.roles import money_columns
        from custseg.schema import validate_table

        head = raw.limit(ROLE_SAMPLE).toPandas()
        checked = validate_table(head, id_col=id_col, features=features, exclude=exclude,
                                 max_junk=1.0, min_rows=2)
        if checked.categorical_features:
            raise UsageError(f"`engine='spark'` segments on numeric features only; "
                             f"{checked.categorical_features} are categorical", "features")
        roles = checked.roles
        if roles.id_column is None and "row" in raw.columns:
            raise UsageError("the data have a column named 'row' and no id column; give the "
                             "id with `id_col`", "id_col")
        data = self._deduplicate(raw, roles)
        data.warns = [p for p in checked.warnings if p.code not in ROW_COUNTED]
        duplicates_at = len(data.warns)  # where the duplicated rows' warning goes
        typed_input = {f.name for f in raw.schema.fields
                       if f.dataType.typeName() not in ("string", "binary")}
        data.numeric = list(roles.numeric)
        data.cols = {c: NumericColumn(c, f"__num{i}", "number" if c in typed_input else "text")
                     for i, c in enumerate(data.numeric)}
        unmarked = scan_text_columns(data.base, list(data.cols.values()))
        data.cleaning = new_cleaning(n_rows, 0, checked.cleaning["columns_dropped"])
        self._features(data, checked, features, exclude)
        check_value_columns(self.labels.values, dict.fromkeys(raw.columns, "dropped")
                            | data.role_of | dict.fromkeys(roles.categorical, "category"))
        # the money features, as the standard engine finds them (its feature_roles_)
        data.money = money_columns({c: data.role_of.get(c, "") for c in data.feats})
        for c in data.feats:
            col = data.cols[c]
            record_unreadable(c, col.n_junk, col.n_filled, col.n_markers, max_junk=max_junk,
                              cleaning=data.cleaning, errors=data.problems, warns=data.warns,
                              junk={"values": col.junk_values},
                              markers={"values": col.marker_values})
        data.typed = self._cache(unmarked.select(
            spark_col(data.key).alias("__key"),
            *[parse_expr(col).alias(col.internal) for col in data.cols.values()],
            *[F.trim(spark_col(c).cast("string")).alias(f"__cat{i}")
              for i, c in enumerate(roles.categorical)]))
        stats = self._feature_stats(data)
        self._count_customers(data, stats, n_rows, duplicates_at)
        self._check_features(data, stats, given=bool(features))
        if data.n < max(min(k_values), 2):
            data.problems.append(Problem(None, f"only {data.n} customer(s), fewer than the "
                                         f"{max(min(k_values), 2)} segments asked for",
                                         code="too-few-rows"))
        if data.problems:
            raise DataError(data.problems)
        return data

    def _features(self, data: Checked, checked: Any, features: Sequence[str] | None,
                  exclude: Sequence[str] | None) -> None:
        """The features and their roles, by the standard engine's rules on the first rows
        (:func:`custseg.roles.assign_roles`): a feature that moves with an earlier one is
        left out (``near_duplicates``) and describes the segments."""
        from custseg.roles import assign_roles

        found = assign_roles(checked, requested=features, exclude=exclude)
        data.role_of, data.echoes = dict(found.role_of), dict(found.echoes)
        data.feats = self._traits(data, checked, given=bool(features))
        data.near_duplicates = list(found.near_duplicates)
        moved = {d["dropped"] for d in data.near_duplicates}
        data.feats = [c for c in data.feats if c not in moved]

    def _deduplicate(self, raw: Any, roles: Any) -> Checked:
        """Exact duplicate rows dropped (counted with the checks: :meth:`_count_customers`);
        without an id, the 1-based row number is the key."""
        from pyspark.sql import functions as F

        key = roles.id_column or "row"
        data_cols = list(raw.columns)
        if roles.id_column is None:
            raw = raw.withColumn("row", self._row_number())
            base = raw.groupBy(*[spark_col(c) for c in data_cols]).agg(F.min("row").alias("row"))
        else:
            base = raw.dropDuplicates(data_cols)
        return Checked(base=self._cache(base), roles=roles, key=key, data_cols=data_cols, n=0)

    @staticmethod
    def _traits(data: Checked, checked: Any, given: bool) -> list[str]:
        """The feature columns, without the row numbers and second identifiers the role
        rules find in the first rows (:func:`custseg.roles.not_traits`, as the other engines
        do), each with a warning; features given are kept as they are."""
        from custseg.roles import not_traits

        feats = [c for c in checked.features if c in data.cols]
        gone = {} if given else not_traits(checked.frame, feats)
        if not gone or len(gone) == len(feats):
            return feats
        data.warns += not_trait_warnings(gone)
        return [c for c in feats if c not in gone]

    def _count_customers(self, data: Checked, stats: Any, n_rows: int,
                         duplicates_at: int) -> None:
        """The customers (``stats``: the row of :meth:`_feature_stats`) and the duplicated
        rows dropped (a warning, at ``duplicates_at`` among the warnings); when the ids are
        fewer than the customers, ids on rows with different data are a warning or an error
        (:func:`custseg.schema.reused_ids`)."""
        from pyspark.sql import functions as F

        from custseg.schema import reused_ids

        data.n = int(stats["rows"])
        n_dup = n_rows - data.n
        data.cleaning["duplicate_rows_dropped"] = n_dup
        if n_dup:
            data.warns.insert(duplicates_at, Problem(
                data.roles.id_column, f"{n_dup} duplicated row(s) dropped (same values as an "
                "earlier row)", code="duplicate-row", severity="warning"))
        if data.roles.id_column is None or stats["keys"] >= data.n:
            return
        per_id = data.base.groupBy(spark_col(data.key)).count().where(F.col("count") > 1)
        found = per_id.agg(F.count("*").alias("ids"), F.sum("count").alias("rows")).first()
        if found["ids"]:  # (fewer ids than customers may also be a missing id, not an error)
            dup = per_id.orderBy(spark_col(data.key)).limit(20).collect()
            problem = reused_ids(data.key, int(found["ids"]), int(found["rows"]), data.n,
                                 values=[str(r[0]) for r in dup])
            if problem.severity == "warning":
                data.warns.insert(duplicates_at, problem)
            else:
                data.problems.insert(0, problem)

    def _row_number(self) -> Any:
        """A column: each input row's 1-based number, in partition order then in order
        within its partition (the order the file was read in), from the rows counted per
        partition when the input was read (no other pass)."""
        from pyspark.sql import functions as F

        parts = max(self.partition_rows, default=-1) + 1
        offsets, total = [], 0
        for p in range(parts):
            offsets.append(total)
            total += self.partition_rows.get(p, 0)
        part = F.spark_partition_id()
        offset = F.element_at(F.array(*[F.lit(o).cast("long") for o in offsets]), part + 1)
        within = F.monotonically_increasing_id() - F.shiftleft(part.cast("long"), 33)
        return offset + within + 1

    def _feature_stats(self, data: Checked) -> Any:
        """One pass over the parsed rows: the customers (``rows``), their ids (``keys``,
        distinct; with an id column) and, per feature, the values, extremes, infinite and
        too large values (the row of the aggregates)."""
        from pyspark.sql import functions as F

        from custseg.schema import MAX_ABS_VALUE

        aggs = [F.count(F.lit(1)).alias("rows")]
        if data.roles.id_column is not None:
            aggs.append(F.count_distinct("__key").alias("keys"))
        for i, c in enumerate(data.feats):
            v = F.col(data.cols[c].internal)
            inf = F.abs(v) == float("inf")
            aggs += [F.count(v).alias(f"n{i}"), F.min(v).alias(f"lo{i}"),
                     F.max(v).alias(f"hi{i}"), F.sum(inf.cast("long")).alias(f"inf{i}"),
                     F.sum(((F.abs(v) > MAX_ABS_VALUE) & ~inf).cast("long")).alias(f"big{i}")]
        return data.typed.agg(*aggs).first()

    def _check_features(self, data: Checked, stats: Any, given: bool) -> None:
        """Per feature (``stats``: the row of :meth:`_feature_stats`): infinite or too large
        values (errors), no values (an error when the features were ``given``, else
        dropped), constant (dropped)."""
        from custseg.schema import (
            all_missing_problem,
            constant_problem,
            infinite_problem,
            too_large_problem,
        )

        for i, c in enumerate(data.feats):
            if stats[f"inf{i}"] or stats[f"big{i}"]:
                if stats[f"inf{i}"]:
                    data.problems.append(infinite_problem(c, stats[f"inf{i}"]))
                if stats[f"big{i}"]:
                    data.problems.append(too_large_problem(c, stats[f"big{i}"]))
            elif stats[f"n{i}"] == 0:
                (data.problems if given else data.warns).append(
                    all_missing_problem(c, dropped=not given))
                if not given:
                    data.cleaning["columns_dropped"][c] = "all missing"
            elif stats[f"lo{i}"] == stats[f"hi{i}"]:
                data.warns.append(constant_problem(c, stats[f"lo{i}"]))
                data.cleaning["columns_dropped"][c] = "constant"
            else:
                if data.n - stats[f"n{i}"]:
                    data.cleaning["missing_values"][c] = data.n - stats[f"n{i}"]
                data.kept.append(c)
        if not data.kept:
            data.problems.append(Problem(
                None, "no usable numeric feature to segment on (numeric columns found: "
                f"{', '.join(data.numeric) or 'none'}; give `features`)", code="no-features"))
