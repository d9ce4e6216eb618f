"""The ``summary.json`` document as types, and its JSON Schema generated from them.

Every key of the summary is declared here once, as a :class:`~typing.TypedDict` (``NotRequired``
for the keys some runs leave out).  What the types cannot say (a description, a bound, a
pattern, a rule between two keys) rides along in :data:`typing.Annotated` metadata:
:class:`Schema` for keywords, :class:`Def` for a part written once under ``$defs``.  The
JSON Schema in docs/summary.schema.json is generated from the types::

    python -m custseg.summary > docs/summary.schema.json

and a test checks that the committed file is the generated one.  Conventions: a TypedDict is
a closed object (no other keys) unless its use says ``Schema(extra=...)``; ``float`` is a JSON
number, ``int`` an integer, ``X | None`` may be ``null``; ``Literal`` values are an enum.

>>> schema = summary_schema()
>>> schema["properties"]["k"]
{'description': 'Number of segments (equals k_selection.chosen_k).', 'type': 'integer', \
'minimum': 2}
>>> schema["$defs"]["count"]
{'type': 'integer', 'minimum': 0}
"""

# long module: one concern, the summary document declared in one place (a TypedDict for each
# of its 36 parts, with their descriptions); split, a reader would chase the document across
# modules.  The generator that turns the types into JSON Schema is custseg.typed_schema.

import json
import sys
from collections.abc import Callable
from typing import Annotated, Any, Literal, NotRequired, TypedDict

from custseg.typed_schema import Def, Schema, SchemaGenerator

SCHEMA_ID = "urn:custseg:summary:1.0"
SCHEMA_TITLE = "custseg summary.json"


def _role_names() -> list[str]:
    from custseg.role_table import ROLE_TABLE

    return list(ROLE_TABLE)


# ------------------------------------------------------------------ shared parts ($defs)
ColumnList = Annotated[list[str], Def("column_list", uniqueItems=True)]
Count = Annotated[int, Def("count", minimum=0)]
CountByColumn = Annotated[dict[str, Annotated[int, Schema(minimum=1)]],
                          Def("count_by_column")]
Seconds = Annotated[float, Def("seconds", minimum=0)]
KValue = Annotated[int, Def("k_value", minimum=2)]
Inertia = Annotated[float, Def(
    "inertia", "Sum of squared distances of customers to their segment's centre, in scaled "
    "units (lower is tighter; always decreases with k).", minimum=0)]
Silhouette = Annotated[float | None, Def(
    "silhouette", "Mean silhouette, -1..1 (higher is better); on a seeded sample of 10,000 "
    "above 10,000 customers; null when undefined.", minimum=-1, maximum=1)]
CalinskiHarabasz = Annotated[float | None, Def(
    "calinski_harabasz", "Calinski-Harabasz index: between- over within-segment dispersion "
    "(higher is better); null when undefined.", minimum=0)]
DaviesBouldin = Annotated[float | None, Def(
    "davies_bouldin", "Davies-Bouldin index: mean similarity of each segment to its closest "
    "one (lower is better, 0 best); null when undefined.", minimum=0)]
NumberByColumn = Annotated[dict[str, float | None], Def("number_by_column")]
Clip = Annotated[float | None, Schema(exclusiveMinimum=0, exclusiveMaximum=0.5)]
NullableNumber = float | None
Level = Literal["Low", "Mid", "High"]
Algorithm = Literal["kmeans", "hierarchical", "gmm", "kprototypes", "hdbscan", "deep"]
RfmSegmentName = Literal["Champions", "Loyal", "Potential loyalist", "New", "Promising",
                         "Need attention", "About to sleep", "At risk", "Cannot lose them",
                         "Hibernating", "Lost"]
TransactionRole = Literal["customer", "date", "amount", "quantity", "price", "invoice",
                          "product"]


# ------------------------------------------------------------------ choosing k
class KScoreDoc(TypedDict):
    """Scores of the partition for one k (in the method's space: the scaled features, or
    numeric plus weighted one-hot categories for k-prototypes)."""

    k: KValue
    inertia: Inertia
    silhouette: Silhouette
    calinski_harabasz: CalinskiHarabasz
    davies_bouldin: DaviesBouldin
    bic: NotRequired[Annotated[NullableNumber, Schema(
        "Gaussian mixtures: Bayesian information criterion (lower is better); null for other "
        "methods.")]]
    stability: NotRequired[Annotated[NullableNumber, Schema(
        "With stability on: mean adjusted Rand index between bootstrap re-fits (80% "
        "subsamples); null otherwise.")]]
    silhouette_se: NotRequired[Annotated[NullableNumber, Schema(
        "k chosen on a sample (fast path): standard error of the silhouette, from 5 disjoint "
        "subsamples (see docs/choosing-k.md); absent otherwise.")]]
    calinski_harabasz_se: NotRequired[Annotated[NullableNumber, Schema(
        "k chosen on a sample (fast path): standard error of the Calinski-Harabasz score "
        "(see docs/choosing-k.md); absent otherwise.")]]
    davies_bouldin_se: NotRequired[Annotated[NullableNumber, Schema(
        "k chosen on a sample (fast path): standard error of the Davies-Bouldin index (see "
        "docs/choosing-k.md); absent otherwise.")]]


class VotesDoc(TypedDict, total=False):
    """The k each signal votes for; elbow is null when the inertia curve has no knee (always
    with fewer than 3 values of k). Empty for methods fixed and only-possible."""

    elbow: KValue | None
    silhouette: KValue
    calinski_harabasz: KValue
    davies_bouldin: KValue
    bic: Annotated[KValue, Schema(
        "Gaussian mixtures only: the k with the lowest BIC; it decides k for them.")]
    stability: Annotated[KValue, Schema(
        "With stability on: the k with the highest bootstrap stability.")]


class SamplingDoc(TypedDict, total=False):
    """k chosen on a sample of a large table (the fast path): how the scores were estimated
    and which k the sample cannot tell apart from the chosen one on the silhouette (within 2
    standard errors). Absent otherwise."""

    sample: Annotated[Count, Schema("Customers in the selection sample.")]
    population: Annotated[Count, Schema("Customers the sample was drawn from.")]
    design: Annotated[str, Schema("How the sample was drawn.")]
    subsamples: Annotated[Count, Schema("Disjoint subsamples the silhouette is averaged over.")]
    subsample_size: Annotated[Count, Schema("Customers in each subsample.")]
    tie_standard_errors: Annotated[float, Schema(
        "Two silhouettes closer than this many standard errors of their difference are a "
        "tie.")]
    within_error: Annotated[list[KValue], Schema(
        "The k whose silhouette is within the sampling error of the chosen k's.")]


class OutsideDoc(TypedDict):
    """The best k outside the useful range by the consensus over every k, its silhouette,
    the best k inside and whether the outside one was taken (strong evidence: silhouette >=
    0.5 and 0.10 above)."""

    k: KValue
    silhouette: NullableNumber
    best_inside_k: KValue
    best_inside_silhouette: NullableNumber
    taken: bool
    chosen_stability: NotRequired[Annotated[NullableNumber, Schema(
        "With stability on: the bootstrap stability of the k chosen.")]]


#: Rules between the keys of ``k_selection`` (docs/choosing-k.md), beyond what types say.
K_SELECTION_RULES: list[dict[str, Any]] = [
    {"if": {"properties": {"method": {"enum": ["fixed", "only-possible", "density"]}},
            "required": ["method"]},
     "then": {"properties": {"confidence": {"const": 1},
                             "confidence_label": {"const": "fixed"},
                             "votes": {"maxProperties": 0}, "elbow_k": {"const": None},
                             "scores": {"maxItems": 1}}},
     "else": {"properties": {
         "confidence_label": {"enum": ["high", "medium", "low"]},
         "votes": {"required": ["elbow", "silhouette", "calinski_harabasz", "davies_bouldin"]},
         "scores": {"minItems": 2},
         "structure": {"enum": ["none", "weak", "reasonable", "strong"]}}}},
    {"if": {"properties": {"method": {"const": "consensus"}, "structure": {"const": "none"}},
            "required": ["method", "structure"]},
     "then": {"properties": {"confidence_label": {"const": "low"}}}},
    {"if": {"properties": {"confidence_label": {"const": "high"}},
            "required": ["confidence_label"]},
     "then": {"properties": {"confidence": {"minimum": 0.65}}}},
    {"if": {"properties": {"confidence_label": {"const": "medium"}},
            "required": ["confidence_label"]},
     "then": {"properties": {"confidence": {"minimum": 0.4, "maximum": 0.65}}}},
]


class KSelectionDoc(TypedDict):
    """How k was chosen: every score for every k tried, the votes, the consensus and its
    confidence (see docs/choosing-k.md)."""

    method: Annotated[Literal["consensus", "fixed", "only-possible", "density"], Schema(
        "consensus (k chosen among a range), fixed (--k N), or only-possible (a range was "
        "asked but the features take so few distinct values that a single k was possible). "
        "density: HDBSCAN found the number of segments itself.")]
    chosen_k: KValue
    scores: Annotated[list[Annotated[KScoreDoc, Def("k_score")]], Schema(
        "One entry per k tried, increasing k.", minItems=1)]
    votes: VotesDoc
    elbow_k: Annotated[KValue | None, Schema(
        "Same as votes.elbow (null for methods fixed and only-possible).")]
    confidence: Annotated[float, Schema(
        "0.5 agreement + 0.3 structure + 0.2 clarity, rounded to 4 decimals; 1 (meaningless) "
        "for methods fixed and only-possible.", minimum=0, maximum=1)]
    confidence_label: Annotated[Literal["high", "medium", "low", "fixed"], Schema(
        "high (>= 0.65), medium (>= 0.4), low; forced to low when structure is none; fixed "
        "for methods fixed and only-possible.")]
    structure: Annotated[Literal["none", "weak", "reasonable", "strong", ""], Schema(
        "From the best silhouette: none (< 0.25), weak (< 0.5), reasonable (< 0.7), strong. "
        "For methods fixed and only-possible, from the one silhouette ('' when it is "
        "undefined).")]
    explanation: Annotated[str, Schema("One or two sentences for a person.", minLength=1)]
    n_samples: Annotated[int, Schema(
        "Customers k was chosen on (50,000 when a sample was used above 50,000).",
        minimum=2)]
    silhouette_sample: Annotated[int | None, Schema(
        "Size of the silhouette's random sample (10000), or null when every customer was "
        "used.", minimum=1)]
    sampling: NotRequired[SamplingDoc]
    useful_range: NotRequired[Annotated[list[int], Schema(
        "With --k auto: the k chosen among unless the evidence for another is strong ([3, "
        "8]).", minItems=2, maxItems=2)]]
    outside: NotRequired[OutsideDoc]


# ------------------------------------------------------------------ segments
class TraitDoc(TypedDict):
    """A numeric column on which the segment stands apart."""

    feature: str
    label: str
    z: float
    level: Literal["High", "Low"]
    ratio: NotRequired[NullableNumber]
    mean: NotRequired[NullableNumber]
    population_mean: NotRequired[NullableNumber]
    text: str


class NotableCategoryDoc(TypedDict, total=False):
    """The category most over-represented in the segment, its share and its lift."""

    level: str
    share: float
    lift: float
    yes: Annotated[bool, Schema(
        "The column says yes or no (yes/no, y/n, true/false, or two levels of which one is "
        "named like the column's risk: 'Attrited Customer'): `level` is its yes and `share` "
        "the segment's share of yes, notable when higher or lower than everyone's; a 0/1 "
        "flag describing the segments reads the same way, its `level` 'yes'.")]
    overall: Annotated[float, Schema(
        "With `yes`: everyone's share of yes (0-1).")]


class SegmentDoc(TypedDict):
    """One segment: who they are, in original units, and what to do."""

    id: Annotated[int, Schema(
        "Segment number, 0..k-1, by size (0 = largest); the `segment` column of "
        "segments.csv.", minimum=0)]
    name: Annotated[str, Schema(
        "Plain name from levels (and from categories held by at least 75% of the segment), "
        "e.g. 'High income · Low spending'; unique within the run.", minLength=1)]
    size: Annotated[int, Schema("Customers in the segment.", minimum=1)]
    share: Annotated[float, Schema("size / n_customers (0..1).", exclusiveMinimum=0,
                                   maximum=1)]
    centre: Annotated[dict[str, float | str | None], Schema(
        "Per feature: the mean of a numeric feature in original units (before log and "
        "scaling); the most common level of a categorical feature.")]
    median: Annotated[NumberByColumn, Schema(
        "Median of each numeric feature, original units.")]
    z: Annotated[dict[str, float], Schema(
        "(segment mean - population mean) / population standard deviation, for every numeric "
        "column (features and described columns); for features segmented on a log scale "
        "(preprocessing.log_columns), measured on that scale.")]
    levels: Annotated[dict[str, Level], Schema(
        "High / Low / Mid: High when the segment's mean is at least 0.5 population standard "
        "deviations above the population's mean (z >= 0.5), Low when at least 0.5 below, "
        "else Mid; every numeric column.")]
    distinguishing: Annotated[list[str], Schema(
        "Up to three numeric features with the largest |z| (at least 0.5; else the single "
        "largest), most distinguishing first; empty when there is no numeric feature.",
        maxItems=3)]
    categories: Annotated[dict[str, dict[str, Annotated[float, Schema(minimum=0, maximum=1)]]],
                          Schema("Per categorical column: share of each category within the "
                                 "segment ('missing' for empty cells).")]
    recommendation: Annotated[str, Schema(
        "Business recommendation from the rule table (bundled rules.toml or the user's "
        "`rules`), or a "
        "generic one.", minLength=1)]
    stability: NotRequired[Annotated[float, Schema(
        "With stability on: the segment's mean Jaccard over bootstrap re-fits (clusterboot).",
        minimum=0, maximum=1)]]
    stable: NotRequired[Annotated[bool, Schema(
        "With stability on: Jaccard >= 0.6; false means: not to be trusted.")]]
    traits: NotRequired[Annotated[list[Annotated[TraitDoc, Schema(extra=True)]], Schema(
        "What sets the segment apart: every numeric column with |z| >= 0.5, largest |z| "
        "first; `text` is the evidence in words, formatted by the column's role.")]]
    evidence: NotRequired[Annotated[list[str], Schema(
        "The numbers behind the recommendation, in words ('spends 2.3x the average on "
        "wines').")]]
    outlier_group: NotRequired[Annotated[bool, Schema(
        "The segment holds under 2% of the customers: an outlier group to review, not a "
        "segment to run a campaign on.")]]
    defined_by_risk: NotRequired[Annotated[bool, Schema(
        "One of its top three traits is a risk (cash advance, debt, late or minimum payments, "
        "complaints...) in the risky direction: it is never rewarded or up-sold.")]]
    notable_categories: NotRequired[Annotated[
        dict[str, Annotated[NotableCategoryDoc, Schema(extra=True)]], Schema(
            "Categories where the segment differs from everyone: share >= 0.40 of the segment "
            "and lift >= 1.3 over the population's share; for a yes/no column, its yes where "
            "the segment's share of yes is >= 1.3 times everyone's or <= 1/1.3 of it, and at "
            "least 2 points away (lift below 1: fewer say yes); likewise the share of 1 of a "
            "0/1 flag describing the segments (keyed by its column).")]]
    recommendation_kind: NotRequired[Annotated[str, Schema(
        "The kind of action recommended (reward, upsell, retain, winback, risk, nurture, "
        "discount, service, generic...).")]]
    spend_share: NotRequired[Annotated[float | None, Schema(
        "The segment's share of the customers' total spend: the sum of the amounts bought "
        "(the money features that are not an income, a balance, a limit, a payment, a bill or "
        "a risk; listed in `spend_columns`), segment mean times size over the same for "
        "everyone; null when the features hold no amount bought, or an amount can be "
        "negative.", minimum=0, maximum=1)]]


# ------------------------------------------------------------------ columns and cleaning
class RolesDoc(TypedDict):
    """The role found (or given) for every input column."""

    id_column: Annotated[str | None, Schema(
        "The customer id column, or null when there is none (segments.csv then starts with a "
        "1-based `row` column).")]
    numeric: Annotated[ColumnList, Schema("Numeric columns (features or not).")]
    categorical: Annotated[ColumnList, Schema(
        "Categorical columns: they describe segments (and are features with "
        "--use-categorical).")]
    dates: Annotated[ColumnList, Schema("Date columns (never features).")]
    ignored: Annotated[dict[str, str], Schema(
        "Columns ignored, with the reason (e.g. free text).")]


class PreprocessingDoc(TypedDict):
    """What the preprocessing pipeline saved with the model does
    (custseg.preprocess.PreprocessPlan)."""

    numeric: Annotated[ColumnList, Schema("Numeric features, in pipeline order.")]
    categorical: Annotated[ColumnList, Schema(
        "Categorical features (one-hot encoded); empty unless --use-categorical or --features "
        "names them.")]
    impute: Annotated[Literal["median", "most_frequent", "drop"], Schema(
        "Missing numeric values: median, most_frequent, or drop (rows left out of the "
        "fit).")]
    clip: Annotated[Clip, Schema(
        "Quantile q at which numeric features are clipped to [q, 1-q]; null for no "
        "clipping.")]
    log_columns: Annotated[ColumnList, Schema(
        "Columns transformed with log1p (skewness > 1 and no negative values); empty with "
        "--no-log.")]
    skewness: Annotated[dict[str, NullableNumber], Schema(
        "Skewness of each numeric feature after clipping, before the log transform.")]
    scaling: Annotated[Literal["standard", "robust", "minmax", "none"], Schema(
        "Scaler applied after the log transform.")]
    categorical_encoding: Annotated[Literal["onehot", "ordinal"], Schema(
        "How categorical features enter: onehot, or ordinal codes for kprototypes.")]
    signed_log_columns: NotRequired[Annotated[ColumnList, Schema(
        "Amounts that can be negative (role money, skewed), put on a log scale by asinh(x / "
        "median |x|).")]]
    winsorize: NotRequired[Annotated[bool, Schema(
        "Features clipped at Tukey's far-out fences (Q1 - 3 IQR, Q3 + 3 IQR, after the log) "
        "for fitting; see `outliers`.")]]
    group_threshold: NotRequired[Annotated[NullableNumber, Schema(
        "Features whose mean |correlation| reaches this form a group weighted as one feature "
        "(1/sqrt(m) each); null: off.")]]
    category_weight: NotRequired[Annotated[float, Schema(
        "Weight of each one-hot column when segmenting on categories (1/sqrt(2)).")]]


class CleaningDoc(TypedDict):
    """What was dropped, coerced, imputed, transformed and clipped."""

    rows_read: Annotated[Count, Schema(
        "Data rows read (header not counted; malformed lines already skipped).")]
    duplicate_rows_dropped: Annotated[Count, Schema("Exact duplicate rows left out of the fit.")]
    total_rows_dropped: NotRequired[Annotated[Count, Schema(
        "Totals rows dropped (one of the last three rows whose first cell reads 'Total', 'Grand "
        "total', 'Sum'...: a sum of the rows, not a customer); absent when none.")]]
    junk_coerced: Annotated[CountByColumn, Schema(
        "Per column: non-numeric cells (e.g. `12k`) read as missing.")]
    missing_markers: Annotated[CountByColumn, Schema(
        "Per column: cells written as a missing marker (NA, ?, -, null...) read as missing.")]
    missing_values: Annotated[CountByColumn, Schema(
        "Per feature: missing values after reading (markers and junk included).")]
    columns_dropped: Annotated[dict[str, str], Schema(
        "Per column: why it was dropped from the features (constant, all missing).")]
    rows_dropped_missing: NotRequired[Annotated[Count, Schema(
        "Only with impute='drop': rows left out of the fit because a feature was missing.")]]
    imputed: Annotated[CountByColumn, Schema(
        "Per feature: missing values filled (empty with impute='drop').")]
    log_transformed: Annotated[ColumnList, Schema("Same as preprocessing.log_columns.")]
    clipped_at_quantile: Annotated[Clip, Schema("Same as preprocessing.clip.")]
    clipped: NotRequired[Annotated[CountByColumn, Schema(
        "With --clip: per numeric feature, values moved to the clipping bounds (columns with "
        "none are left out).")]]


class ProblemDoc(TypedDict):
    """One data warning."""

    column: Annotated[str | None, Schema(
        "The column concerned, or null for the whole file.")]
    code: Annotated[str, Schema(
        "Machine-readable kind, e.g. junk, missing-marker, constant, duplicate-row, "
        "malformed-line, all-missing.", minLength=1)]
    severity: Annotated[Literal["warning", "error"], Schema(
        "Always warning in summary.json (errors stop the run).")]
    message: Annotated[str, Schema(minLength=1)]
    rows: Annotated[list[Annotated[int, Schema(minimum=1)]], Schema(
        "1-based data row numbers (first 20); for malformed-line, file line numbers counting "
        "the header as line 1.", maxItems=20)]
    values: Annotated[list[str | float | None], Schema(
        "The offending values as written (first 20).", maxItems=20)]


class InputDoc(TypedDict):
    """The input file as read."""

    path: Annotated[str, Schema(
        "Path as given on the command line (or the bundled demo file).", minLength=1)]
    format: Annotated[Literal["csv", "parquet", "excel", "jsonl"], Schema(
        "Reader used, from the file ending.")]
    encoding: Annotated[str | None, Schema(
        "Text encoding detected or given; null for parquet, excel and jsonl.")]
    delimiter: Annotated[str | None, Schema(
        "Field delimiter detected or given; null for parquet, excel and jsonl.", minLength=1)]
    rows: Annotated[int, Schema("Data rows read (before duplicates are dropped).", minimum=1)]
    columns: Annotated[int, Schema(
        "Columns read (entirely empty unnamed columns removed).", minimum=1)]


class TimingsDoc(TypedDict):
    """Wall-clock seconds per stage (writing the outputs is not included)."""

    read: Annotated[Seconds, Schema("Reading the file.")]
    segment: Annotated[Seconds, Schema(
        "Checks, preprocessing, choosing k, K-Means and profiles.")]
    prepare_outputs: Annotated[Seconds, Schema(
        "Building segments.csv rows, the 2-D projection and the report's numbers "
        "(distributions, point samples, silhouettes).")]


VersionsDoc = TypedDict("VersionsDoc", {
    "custseg": str, "python": str, "scikit-learn": str, "pandas": str, "numpy": str})
VersionsDoc.__doc__ = "Versions of custseg, Python and the main libraries used."


# ------------------------------------------------------------------ optional parts
class UnassignedDoc(TypedDict):
    """Customers a density method (hdbscan) left in no segment (segment -1, 'Unassigned')."""

    size: Annotated[int, Schema(minimum=1)]
    share: Annotated[float, Schema(minimum=0, maximum=1)]


class UnclearCustomersDoc(TypedDict):
    """gmm only: customers whose highest membership probability is below the threshold (no
    clear segment)."""

    threshold: float
    count: Annotated[int, Schema(minimum=0)]


class StabilityDoc(TypedDict):
    """With stability on: bootstrap stability of the final segmentation
    (custseg.stability.Stability)."""

    mean_ari: NullableNumber
    ari: list[float]
    jaccard: list[Annotated[float, Schema(minimum=0, maximum=1)]]
    unstable_segments: list[Annotated[int, Schema(minimum=0)]]
    n_resamples: Annotated[int, Schema(minimum=1)]
    subsample: float
    n_customers: Annotated[int, Schema(minimum=0)]


class HierarchyDoc(TypedDict):
    """hierarchical only: whether the tree was built on K-Means micro-clusters (above 20,000
    customers) and its number of leaves."""

    micro_clusters: bool
    leaves: Annotated[int, Schema(minimum=1)]


RfmCounts = dict[RfmSegmentName, Annotated[int, Schema(minimum=1)]]


class RfmDoc(TypedDict):
    """segment --transactions only: the classic rule-based RFM segments (R x F score grid,
    docs/features.md) beside the segments, as a baseline."""

    crosstab: Annotated[dict[str, RfmCounts], Schema(
        "{segment name: {RFM segment: customers}}: segments in segment order, RFM segments in "
        "the order of docs/features.md, zero counts left out.")]
    segments: Annotated[RfmCounts, Schema(
        "{RFM segment: customers}, in the order of docs/features.md; segments without "
        "customers left out.", minProperties=1)]


class TransactionColumnsDoc(TypedDict):
    """The column of each role, given or inferred; null when absent."""

    customer: str | None
    date: str | None
    amount: str | None
    quantity: str | None
    price: str | None
    invoice: str | None
    product: str | None


class TransactionDatesDoc(TypedDict):
    """How the dates were read: strptime formats tried in order (empty for a typed date
    column), whether day comes before month in numeric dates written with the year last (null
    when there are none), the rule that decided it, and whether it was ambiguous."""

    formats: list[Annotated[str, Schema(minLength=1)]]
    day_first: bool | None
    rule: Annotated[str, Schema(minLength=1)]
    ambiguous: bool


class TransactionDuplicatesDoc(TypedDict):
    """--duplicates and whether exact duplicate lines were dropped."""

    mode: Literal["auto", "drop", "keep"]
    dropped: bool


class TransactionCleaningDoc(TypedDict):
    """Line counts: lines_read, malformed_lines, missing_customer_lines, missing_date_lines,
    bad_date_lines, missing_amount_lines, bad_amount_lines, (bad_quantity_lines),
    duplicate_lines, duplicate_lines_dropped, after_as_of_lines, zero_value_lines,
    negative_price_lines, cancellation_lines, lines_used; and customers_without_purchase."""

    lines_read: Count
    malformed_lines: Count
    missing_customer_lines: Count
    duplicate_lines: Count
    cancellation_lines: Count
    lines_used: Count
    customers_without_purchase: Count


class TransactionsDoc(TypedDict):
    """segment --transactions only: how the transaction log was read and turned into one row
    per customer (docs/features.md)."""

    columns: TransactionColumnsDoc
    inferred: Annotated[list[TransactionRole], Schema(
        "Roles whose column was inferred from the header (the others were given).",
        uniqueItems=True)]
    dates: TransactionDatesDoc
    frequency_counts: Annotated[Literal["orders", "purchase days"], Schema(
        "What frequency counts: distinct orders (with an order id column) or distinct purchase "
        "days.")]
    duplicates: TransactionDuplicatesDoc
    as_of: Annotated[str, Schema("Date the features are computed at (YYYY-MM-DD).",
                                 pattern="^[0-9]{4}-[0-9]{2}-[0-9]{2}$")]
    n_customers: Annotated[int, Schema("Customers with a purchase before the as-of date.",
                                       minimum=1)]
    cleaning: Annotated[TransactionCleaningDoc, Schema(
        extra=Annotated[int, Schema(minimum=0)])]


class EngineDoc(TypedDict):
    """Present when the run did not use the standard engine: which engine (local: the fast
    path for large tables; spark: Apache Spark) and what it sampled. Engine-specific details
    may be added."""

    name: Literal["local", "spark"]
    selection_sample: NotRequired[Annotated[Count, Schema("Customers k was chosen on.")]]
    report_sample: NotRequired[Annotated[Count, Schema(
        "Customers the report's charts and data overview are drawn from.")]]
    dtype: NotRequired[Annotated[str, Schema("Floating-point type of the scaled features.")]]
    duplicates: NotRequired[Annotated[str, Schema(
        "What was done about exact duplicate rows.")]]
    segments_file: NotRequired[Annotated[str, Schema(
        "local: the segments file written (segments.csv or segments.parquet).")]]


class ColumnDecisionDoc(TypedDict):
    """One input column: its role, its use, the feature made from it and why."""

    column: str
    role: Annotated[str, Schema(enum=_role_names)]
    use: Literal["feature", "describe", "dropped"]
    feature: str | None
    reason: Annotated[str, Schema(minLength=1)]
    overridden: bool


class DerivationDoc(TypedDict, total=False):
    """A feature computed from a column (custseg.roles.Derivation)."""

    name: str
    source: str
    kind: Literal["age", "age_at", "days_since", "none_code", "levels"]
    reference: str
    dayfirst: bool


class NearDuplicateDoc(TypedDict, total=False):
    """A feature column dropped because it moves with an earlier one."""

    dropped: str
    kept: str
    r: float


class OutlierExampleDoc(TypedDict):
    """One customer beyond a fence: its 1-based data row and its value."""

    row: Annotated[int, Schema(minimum=1)]
    value: NullableNumber


class OutlierColumnDoc(TypedDict):
    """The customers beyond the fences of one column."""

    count: Annotated[int, Schema(minimum=1)]
    low: Count
    high: Count
    lower: NullableNumber
    upper: NullableNumber
    examples: list[OutlierExampleDoc]


class OutliersDoc(TypedDict):
    """Customers beyond the far-out fences on some feature: how many (rows, share), and per
    column the count, the fences in the column's units and up to 5 examples (1-based data
    row, value). They are kept; with `winsorized` they are clipped at the fences for fitting
    only."""

    method: str
    winsorized: bool
    rows: Count
    share: Annotated[float, Schema(minimum=0, maximum=1)]
    columns: dict[str, OutlierColumnDoc]


class FeatureGroupDoc(TypedDict):
    """Correlated features weighted as one: each member weighted 1/sqrt(m)."""

    features: list[str]
    weight: float


class ReductionDoc(TypedDict):
    """How the features were weighted before clustering: groups of correlated features (each
    member weighted 1/sqrt(m)) and the effective number of features."""

    method: Literal["none", "feature groups"]
    groups: list[FeatureGroupDoc]
    threshold: NotRequired[float]
    effective_features: NotRequired[float]


# ------------------------------------------------------------------ the document
class QualityDoc(TypedDict):
    """Internal scores of the final partition (all customers, segments ordered by size).
    Same meaning as k_selection.scores."""

    inertia: Inertia
    silhouette: Silhouette
    calinski_harabasz: CalinskiHarabasz
    davies_bouldin: DaviesBouldin


class Summary(TypedDict):
    """The run described by `custseg segment --out DIR` (and `custseg demo`): what was read,
    how it was cleaned, how k was chosen, the segments, and how to reproduce it. Written by
    custseg.pipeline.build_summary; documented field by field in docs/summary-schema.md.
    Floats are rounded to 6 decimals; NaN and infinite values are written as null."""

    schema_version: Annotated[Literal["1.0"], Schema(
        "Version of this document's layout (custseg.pipeline.SUMMARY_SCHEMA_VERSION). Changes "
        "when a key is added, removed or changes meaning.")]
    custseg_version: Annotated[str, Schema("Version of custseg that wrote the file.",
                                           pattern="^[0-9]+\\.[0-9]+")]
    n_customers: Annotated[int, Schema(
        "Customers segmented: input rows minus exact duplicate rows minus rows dropped for "
        "missing values (impute='drop').", minimum=2)]
    features: Annotated[list[Annotated[str, Schema(minLength=1)]], Schema(
        "Columns segmented on, in order: numeric features, then categorical ones (one-hot) "
        "with --use-categorical.", minItems=1, uniqueItems=True)]
    k: Annotated[int, Schema("Number of segments (equals k_selection.chosen_k).", minimum=2)]
    algorithm: Annotated[Algorithm, Schema(
        "Segmentation method: kmeans, hierarchical (Ward), gmm (Gaussian mixture), "
        "kprototypes (mixed data), hdbscan (density), deep (autoencoder + K-Means).")]
    engine: NotRequired[Annotated[EngineDoc, Schema(extra=True)]]
    unassigned: NotRequired[UnassignedDoc]
    unclear_customers: NotRequired[UnclearCustomersDoc]
    stability: NotRequired[StabilityDoc]
    categorical_weight: NotRequired[Annotated[float, Schema(
        "kprototypes only: the weight gamma of a categorical mismatch (chosen "
        "automatically).", minimum=0)]]
    hierarchy: NotRequired[HierarchyDoc]
    k_selection: Annotated[KSelectionDoc, Def("k_selection", allOf=K_SELECTION_RULES)]
    quality: QualityDoc
    segments: Annotated[list[Annotated[SegmentDoc, Def("segment")]], Schema(
        "One entry a segment, largest first (id 0 is the largest).", minItems=1)]
    roles: RolesDoc
    columns: NotRequired[Annotated[list[ColumnDecisionDoc], Schema(
        "Every input column: its role (id, constant, date, calendar, birth_year, age, count, "
        "money, rate, flag, category, text, measure, duplicate), its use (feature, describe "
        "or dropped), the feature made from it (a derived one for dates and years of birth) "
        "and the reason in words; `overridden` when given with --role/--roles. See "
        "custseg.roles.")]]
    derived: NotRequired[Annotated[list[Annotated[DerivationDoc, Schema(extra=True)]], Schema(
        "Features computed from a column, the same way when scoring: age from a year of birth "
        "(as of `reference`, a year), days since a date (as of `reference`, the latest date "
        "of the column), a code standing for none read as missing (`reference`, the code).")]]
    labels: NotRequired[Annotated[dict[str, str], Schema(
        "The readable label of every feature and described column (from the column name, or "
        "the --labels file).")]]
    value_labels: NotRequired[Annotated[dict[str, dict[str, str]], Schema(
        "The names given to the codes of categorical columns ({column: {code: name}}, from "
        "the labels file): the segments' categories read by these names. Absent when none "
        "were given.")]]
    spend_columns: NotRequired[Annotated[list[str], Schema(
        "The amounts bought that each segment's `spend_share` is a share of (the money "
        "features that are not an income, a balance, a limit, a payment, a bill or a risk; "
        "not an average per order or stay beside the amounts themselves).")]]
    near_duplicates: NotRequired[Annotated[
        list[Annotated[NearDuplicateDoc, Schema(extra=True)]], Schema(
            "Feature columns dropped because they move with an earlier one (|Spearman r| > "
            "0.95): dropped, kept, r.")]]
    echoes: NotRequired[Annotated[dict[str, str], Schema(
        "Describing columns that move with a feature (|Spearman r| > 0.95), each with that "
        "feature ({column: feature}): profiled, but not evidence of their own (they would "
        "repeat the feature). Absent when there are none.")]]
    outliers: NotRequired[OutliersDoc]
    reduction: NotRequired[ReductionDoc]
    preprocessing: PreprocessingDoc
    cleaning: CleaningDoc
    warnings: Annotated[list[Annotated[ProblemDoc, Def("problem")]], Schema(
        "Data warnings (nothing blocking), from reading and from the checks.")]
    input: InputDoc
    input_sha256: Annotated[str, Schema("SHA-256 of the input file's bytes (hex, lower case).",
                                        pattern="^[0-9a-f]{64}$")]
    seed: Annotated[int | None, Schema(
        "The random seed (--seed; 0 by default on the command line); null when the library "
        "was called without random_state.", minimum=0)]
    command: Annotated[str, Schema(
        "The command line that produced the run ('custseg demo', 'custseg segment ...'); "
        "empty when the library was called directly.")]
    timings: Annotated[TimingsDoc, Schema(extra=Seconds)]
    versions: Annotated[VersionsDoc, Schema(extra=str)]
    rfm: NotRequired[RfmDoc]
    transactions: NotRequired[TransactionsDoc]




def summary_schema() -> dict[str, Any]:
    """The JSON Schema (draft 2020-12) of ``summary.json``, from :class:`Summary`."""
    gen = SchemaGenerator()
    body = gen.schema(Summary)
    head = {"$schema": "https://json-schema.org/draft/2020-12/schema", "$id": SCHEMA_ID,
            "title": SCHEMA_TITLE}
    return {**head, **body, "$defs": gen.defs}


def schema_text() -> str:
    """:func:`summary_schema` as written in docs/summary.schema.json."""
    return json.dumps(summary_schema(), indent=2, ensure_ascii=False) + "\n"


def main(write: Callable[[str], object] = sys.stdout.write) -> None:
    """``python -m custseg.summary > docs/summary.schema.json``."""
    write(schema_text())


if __name__ == "__main__":
    main()
