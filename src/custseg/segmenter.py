"""The :class:`Segmenter` estimator: from a customer table to named segments.

It ties the one-way flow together: validate and infer roles (:mod:`custseg.schema`) ->
preprocess (:mod:`custseg.preprocess`) -> choose k (:mod:`custseg.selection`) -> K-Means ->
profile, name and recommend (:mod:`custseg.profiling`).  It follows the scikit-learn
estimator contract and passes its ``check_estimator`` suite.
"""

# long module: one estimator is one class (scikit-learn's contract: the object that fits
# also predicts, transforms and assigns), with its long parameter docstring and the steps of
# fit as methods; model bundles store it under this module's path.  The parameters every
# engine reads (k, max_columns) are in custseg.parameters.

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd
from sklearn.base import BaseEstimator, ClusterMixin, TransformerMixin
from sklearn.metrics import pairwise_distances_argmin_min
from sklearn.metrics.pairwise import euclidean_distances
from sklearn.utils import check_random_state
from sklearn.utils.validation import check_array, check_is_fitted, validate_data

from custseg.algorithms import registry
from custseg.derived import model_features
from custseg.errors import DataError, Problem, UsageError
from custseg.labels import LabelFile, check_value_columns, resolve_labels
from custseg.parameters import DEFAULT_K_RANGE, MAX_COLUMNS, check_width, k_values
from custseg.parameters import parse_k as parse_k  # re-exported, as the names above
from custseg.preprocess import (
    FENCE_METHOD,
    GROUP_R,
    build_preprocessor,
    fences_in_units,
    plan_preprocessing,
)
from custseg.profiling import SegmentProfile, load_rules, profile_segments
from custseg.roles import assign_roles
from custseg.schema import validate_table
from custseg.selection import (
    USEFUL_K,
    KSelection,
    SilhouetteSample,
    fit_method,
    limit_threads,
    number_by_size,
    partition_scores,
    possible_k_values,
    prechecked,
    refine_model,
    select_k,
)
from custseg.stability import bootstrap_stability

if TYPE_CHECKING:
    from sklearn.compose import ColumnTransformer

    from custseg.preprocess import PreprocessPlan
    from custseg.schema import Roles
    from custseg.selection import KScore

ProgressFn = Callable[[str, int, int], None]

#: Above this many customers, k is chosen on a seeded random sample of this size and the
#: final K-Means on all customers starts from the sample's centres.
SELECTION_SAMPLE = 10_000
#: Above this many scaled features (K-Means, k chosen among several), k is chosen on the
#: first :data:`SELECTION_COMPONENTS` principal components of the customers (seeded
#: randomized PCA) and the final K-Means on every feature starts from the segments found
#: there: distances over thousands of features cost thousands of times more and add little
#: that the leading components do not hold.  Tables of ordinary width are not affected.
SELECTION_MAX_DIMS = 100
SELECTION_COMPONENTS = 50
#: Customers used for the stability of each candidate k (a seeded sample).
STABILITY_SAMPLE = 2_000
K_STABILITY_RESAMPLES = 10
UNASSIGNED = "Unassigned"
#: Weight of each one-hot column when segmenting on categories too: two customers in
#: different categories are as far apart as one standard deviation of a number.
CATEGORY_WEIGHT = float(1 / np.sqrt(2))
#: Outlier examples kept per column (summary and report).
OUTLIER_EXAMPLES = 5


def _as_frame(X: Any) -> pd.DataFrame:
    if isinstance(X, pd.DataFrame):
        return X
    return pd.DataFrame(X, columns=[f"x{i}" for i in range(X.shape[1])])


class Segmenter(ClusterMixin, TransformerMixin, BaseEstimator):
    """Customer segmentation: clean, scale, choose k, K-Means, profile and name.

    Parameters
    ----------
    k : "auto", int or sequence of int, default="auto"
        Number of segments.  ``"auto"`` chooses it in ``k_range`` by consensus of the elbow,
        silhouette, Calinski-Harabasz and Davies-Bouldin (see :mod:`custseg.selection`).
    k_range : tuple of two int, default=(2, 10)
        Smallest and largest k tried when ``k="auto"``.
    features : list of str, optional
        Columns to segment on (DataFrame input).  Default: every numeric column but the id.
    id_col : str, optional
        Customer id column; inferred when not given; ``""`` for none.
    exclude : list of str, optional
        Columns never used as features.
    categorical : list of str, optional
        Columns to treat as categorical whatever their type.
    use_categorical : bool, default=False
        Also segment on the categorical columns (one-hot).  Otherwise they only describe
        the segments.
    impute : {"median", "most_frequent", "drop"}, default="median"
    clip : float, optional
        Clip numeric features at the ``[clip, 1 - clip]`` quantiles.
    log : "auto", "none" or list of str, default="auto"
        Log-transform strongly skewed non-negative columns.
    scaling : {"standard", "robust", "minmax", "none"}, default="standard"
    max_junk : float, default=0.05
        Largest share of non-numeric cells tolerated in a numeric column.
    n_init : "auto" or int, default="auto"
        K-Means initialisations (10 up to 100,000 customers, 3 above).
    rules : str or path, optional
        Recommendation rule table (TOML); the bundled one by default.
    algorithm : {"kmeans", "hierarchical", "gmm", "kprototypes", "hdbscan", "deep"}
        The segmentation method (see :mod:`custseg.algorithms`).  ``kprototypes`` segments on
        the categorical columns too, without one-hot encoding; ``hdbscan`` chooses the number
        of segments itself and leaves customers in no dense region unassigned (-1).
    stability : bool, default=False
        Add bootstrap stability (20 re-fits on 80% subsamples of at most 5,000 customers) to
        the choice of k, and measure each segment's stability (``stability_``).
    n_threads : int, optional
        Largest number of threads for the numerical work (BLAS and OpenMP, through
        threadpoolctl).  Default: one thread below 20,000 customers (threads cost more than
        they bring there, and much more on a busy machine), all cores above.
    column_roles : dict, optional
        ``{column: role}`` overriding the roles found (:mod:`custseg.roles`): ``id``,
        ``date``, ``birth_year``, ``age``, ``count``, ``money``, ``rate``, ``flag``,
        ``category``, ``text`` or ``measure``.
    labels : str, path or dict, optional
        Readable labels for columns, and names for the codes of categorical columns (a
        TOML/CSV file, see :func:`custseg.labels.load_label_file`, or a dict whose entry for
        a coded column is a dict ``{code: name}``); others are made from the column names.
    useful_k : tuple of two int or None, default=(3, 8)
        With ``k="auto"``: k is chosen in this range unless the evidence for a k outside it
        is strong (:func:`custseg.selection.consensus_for_action`).  None: any k of
        ``k_range``.
    outliers : {"winsorize", "keep"}, default="winsorize"
        Outliers (beyond Tukey's far-out fences, after the log) are listed and, with
        ``winsorize``, clipped at the fences for fitting; profiles keep their real values.
    feature_groups : bool, default=True
        Weight groups of strongly correlated features (|r| >= 0.8) as one feature.
    max_columns : int or None, default=MAX_COLUMNS (2,500)
        Most columns that may be features (every column but the excluded ones, or the
        ``features`` named); a wider table is refused before any work with a
        :class:`~custseg.errors.UsageError` saying what to do.  None: no limit.
    random_state : int, RandomState or None, default=None
        Seed: the same data and seed give the same segments.

    Attributes
    ----------
    labels_ : ndarray of shape (n_samples,)
        Segment of every input row, 0 = largest segment.  Rows dropped for missing values
        (``impute="drop"``) get -1; exact duplicate rows get their twin's segment.
    cluster_centers_ : ndarray of shape (k, n_scaled_features)
        Segment centres in the scaled space.
    k_ : int
        Number of segments.
    k_selection_ : KSelection
        Every score for every k tried, the votes, the chosen k and its confidence.
    segments_ : list of SegmentProfile
        Name, size, share, means, medians, z-scores, levels, recommendation per segment.
    profiles_ : DataFrame
        The same as a table (``profiles.csv``).
    distances_ : ndarray of shape (n_samples,)
        Distance of each row to its segment's centre (scaled units; NaN for -1 rows).
    roles_ : Roles
        Column roles found (id, numeric, categorical, dates, ignored).
    features_ : list of str
        Columns segmented on.
    preprocessor_ : ColumnTransformer
        The fitted preprocessing.
    plan_ : PreprocessPlan
        What the preprocessing does (log-transformed columns, scaling...).
    cleaning_ : dict
        Rows read, duplicates dropped, junk coerced, missing values imputed, columns dropped.
    warnings_ : list of Problem
        Data warnings (nothing blocking).
    fit_mask_ : ndarray of bool
        Input rows used for fitting (not an exact duplicate, not dropped for missing values).
    n_features_in_, feature_names_in_
        As in scikit-learn.

    Examples
    --------
    >>> from custseg import Segmenter, load_table, demo_data_path
    >>> df = load_table(demo_data_path())
    >>> seg = Segmenter(features=["Annual Income (k$)", "Spending Score (1-100)"],
    ...                 random_state=0).fit(df)
    >>> seg.k_, [s.size for s in seg.segments_]
    (5, [81, 39, 35, 23, 22])
    >>> seg.segments_[4].name
    'Low income · High spending'
    >>> seg.predict(df.head(3)).tolist()
    [3, 4, 3]
    """

    def __init__(
        self,
        k: str | int | Sequence[int] = "auto",
        *,
        k_range: tuple[int, int] = DEFAULT_K_RANGE,
        features: Sequence[str] | None = None,
        id_col: str | None = None,
        exclude: Sequence[str] | None = None,
        categorical: Sequence[str] | None = None,
        use_categorical: bool = False,
        impute: str = "median",
        clip: float | None = None,
        log: str | Sequence[str] = "auto",
        scaling: str = "standard",
        max_junk: float = 0.05,
        n_init: str | int = "auto",
        rules: str | None = None,
        algorithm: str = "kmeans",
        stability: bool = False,
        n_threads: int | None = None,
        column_roles: dict[str, str] | None = None,
        labels: Any = None,
        useful_k: tuple[int, int] | None = USEFUL_K,
        outliers: str = "winsorize",
        feature_groups: bool = True,
        max_columns: int | None = MAX_COLUMNS,
        random_state: Any = None,
    ) -> None:
        self.k = k
        self.k_range = k_range
        self.features = features
        self.id_col = id_col
        self.exclude = exclude
        self.categorical = categorical
        self.use_categorical = use_categorical
        self.impute = impute
        self.clip = clip
        self.log = log
        self.scaling = scaling
        self.max_junk = max_junk
        self.n_init = n_init
        self.rules = rules
        self.algorithm = algorithm
        self.stability = stability
        self.n_threads = n_threads
        self.column_roles = column_roles
        self.labels = labels
        self.useful_k = useful_k
        self.outliers = outliers
        self.feature_groups = feature_groups
        self.max_columns = max_columns
        self.random_state = random_state

    def __sklearn_tags__(self) -> Any:
        tags = super().__sklearn_tags__()
        tags.input_tags.allow_nan = True
        return tags

    # ---------------------------------------------------------------- display
    # Fitted: a card (custseg.notebook); unfitted: scikit-learn's repr and diagram.
    def __repr__(self, N_CHAR_MAX: int = 700) -> str:
        head = super().__repr__(N_CHAR_MAX=N_CHAR_MAX)
        from custseg.display import is_fitted, segmenter_text

        return segmenter_text(self, head) if is_fitted(self) else head

    @property
    def _repr_html_(self) -> Any:
        from custseg.display import is_fitted, segmenter_html

        if is_fitted(self):
            return lambda: segmenter_html(self)
        return super()._repr_html_

    def _repr_mimebundle_(self, **kwargs: Any) -> dict[str, Any]:
        from custseg.display import is_fitted, segmenter_mimebundle

        if not is_fitted(self):
            return super()._repr_mimebundle_(**kwargs)
        return segmenter_mimebundle(self, {})

    # ---------------------------------------------------------------- helpers
    def _k_values(self) -> list[int]:
        return k_values(self.k, self.k_range)

    def _check_width(self, X: Any) -> None:
        """Refuse a table with more candidate feature columns than ``max_columns``, before
        any work (:func:`check_width`)."""
        # only objects that say their shape: np.shape() would convert an array-like whole
        shape = getattr(X, "shape", None)
        if shape is None or len(shape) != 2:
            return
        names = list(map(str, X.columns)) if isinstance(X, pd.DataFrame) else [
            f"x{i}" for i in range(int(shape[1]))]
        check_width(names, int(shape[0]), features=self.features, exclude=self.exclude,
                    max_columns=self.max_columns)

    def _input_frame(self, X: Any, reset: bool) -> pd.DataFrame:
        if isinstance(X, pd.DataFrame):
            validate_data(self, X, reset=reset, skip_check_array=True)
            if not all(isinstance(c, str) for c in X.columns):
                X = X.rename(columns=str)  # as validate_table names them
            return X
        X = check_array(X, dtype="numeric", ensure_all_finite="allow-nan",
                        ensure_min_samples=1)
        validate_data(self, X, reset=reset, skip_check_array=True)
        return _as_frame(X)

    def typed_features(self, frame: pd.DataFrame) -> pd.DataFrame:
        """Numeric features parsed as floats, categoricals as text, ready for the
        preprocessor.  Junk cells are read as missing (then imputed) up to ``max_junk`` of
        a column, as in ``fit``; more junk, and infinities, are data errors naming the rows."""
        return model_features(frame, self.features_, self.plan_.numeric,
                              getattr(self, "derivations_", []), self.max_junk)

    #: the former name, still used by explanation, bundle, explore and pipeline (alias)

    # ---------------------------------------------------------------- fit

    def fit(self, X: Any, y: Any = None, *, progress: ProgressFn | None = None) -> Segmenter:
        """Validate, preprocess, choose k, cluster and profile.

        Parameters
        ----------
        X : DataFrame or array-like of shape (n_samples, n_features)
            Customers, one per row.
        y : ignored
        progress : callable, optional
            ``progress(stage, done, total)`` is called as work advances.
        """
        if self.n_threads is not None and int(self.n_threads) < 1:
            raise UsageError(f"n_threads must be at least 1, got {self.n_threads!r}",
                             "n_threads")
        try:
            n_rows = int(X.shape[0])
        except (AttributeError, IndexError, TypeError):
            n_rows = len(X) if hasattr(X, "__len__") else 0
        with limit_threads(n_rows, self.n_threads):
            return self._fit(X, progress)

    def _fit(self, X: Any, progress: ProgressFn | None) -> Segmenter:
        """The work of :meth:`fit`, its threads limited: roles, preprocessing, k, the
        segments, every input row's segment, the profiles."""
        spec = registry.get(self.algorithm)
        if spec.requires is not None:
            spec.requires()
        k_values = self._k_values()
        rules = load_rules(self.rules)
        is_frame = isinstance(X, pd.DataFrame)
        self._check_width(X)
        frame = self._input_frame(X, reset=True)
        checked, fr, use_cat = self._fit_roles(frame, spec.capabilities, k_values, is_frame)
        train, fit_rows = self._training_rows(fr, k_values)
        Z = self._fit_preprocessing(train, fr, checked.kept_rows[fit_rows], use_cat=use_cat,
                                    caps=spec.capabilities, is_frame=is_frame,
                                    progress=progress)
        n = Z.shape[0]
        k_values = [k for k in k_values if k < n] or [min(k_values)]
        if min(k_values) >= n:
            raise DataError([Problem(None, f"only {n} customers ({n} samples), fewer than the "
                                     f"{min(k_values)} segments asked for", code="too-few-rows")])
        rng = check_random_state(self.random_state)
        seed = int(rng.randint(np.iinfo(np.int32).max))
        selection, model, options, sample = self._choose_k(spec, Z, k_values, seed, progress)
        new_labels, dist, probabilities = self._fit_segments(selection, model, Z, seed,
                                                             options, sample)
        self._label_every_row(frame, checked.kept_rows, fit_rows, new_labels, dist,
                              probabilities)
        self._fit_profiles(train, new_labels, fr, rules, progress)
        return self

    def _fit_roles(self, frame: pd.DataFrame, caps: registry.Capabilities,
                   k_values: list[int], is_frame: bool) -> tuple[Any, Any, bool]:
        """Validate the table and give each column its role: the checked table, the
        features and their roles, and whether categories are segmented on."""
        checked = validate_table(
            frame,
            id_col=self.id_col,
            features=self.features,
            exclude=self.exclude,
            categorical=self.categorical,
            use_categorical=self.use_categorical or caps.handles_categoricals,
            max_junk=self.max_junk,
            min_rows=min(k_values),
            infer_roles=is_frame,
        )
        self.roles_ = checked.roles
        if self.outliers not in ("winsorize", "keep"):
            raise UsageError(f"outliers must be 'winsorize' or 'keep', got {self.outliers!r}",
                             "outliers")
        use_cat = self.use_categorical or caps.handles_categoricals
        fr = assign_roles(checked, overrides=self.column_roles, requested=self.features,
                          exclude=self.exclude, use_categorical=use_cat, infer=is_frame,
                          random_state=0)
        self.column_decisions_ = fr.decisions
        self.derivations_ = fr.derivations
        self.near_duplicates_ = fr.near_duplicates
        self.echoes_ = fr.echoes
        self.feature_roles_ = dict(fr.role_of)
        given = self._load_labels()
        check_value_columns(given.values, {d.column: d.role for d in fr.decisions})
        self.labels_map_, self.value_labels_ = given.columns, given.values
        if use_cat and not fr.categorical_features and self.use_categorical:
            raise UsageError("use_categorical: the data have no categorical column to segment "
                             "on (columns found: " + ", ".join(
                                 f"{d.column} ({d.role})" for d in fr.decisions) + ")",
                             "use_categorical")
        self.features_ = [*fr.features, *fr.categorical_features]
        if not self.features_:
            raise DataError([Problem(None, "no usable feature to segment on: " + "; ".join(
                f"{d.column}: {d.role}, {d.use}" for d in fr.decisions), code="no-features")])
        self.warnings_ = list(checked.warnings)
        self.cleaning_ = dict(checked.cleaning)
        return checked, fr, use_cat

    def _training_rows(self, fr: Any, k_values: list[int]) -> tuple[pd.DataFrame, np.ndarray]:
        """The rows fitted on (all, or those without missing values with
        ``impute='drop'``), and the mask of them among the checked rows."""
        data = fr.frame
        numeric = list(fr.features)
        for name in [d.name for d in fr.derivations if d.name in numeric]:
            n_missing = int(data[name].isna().sum())
            if n_missing:
                self.cleaning_["missing_values"][name] = n_missing
        fit_rows = np.ones(len(data), dtype=bool)
        if self.impute == "drop":
            fit_rows = data[self.features_].notna().all(axis=1).to_numpy()
            self.cleaning_["rows_dropped_missing"] = int((~fit_rows).sum())
            if fit_rows.sum() < max(min(k_values), 2):
                raise DataError([Problem(None, f"only {int(fit_rows.sum())} rows without "
                                         "missing values remain after `impute='drop'`",
                                         code="too-few-rows")])
        return data.loc[fit_rows].reset_index(drop=True), fit_rows

    def _fit_preprocessing(self, train: pd.DataFrame, fr: Any, rows: np.ndarray, *,
                           use_cat: bool, caps: registry.Capabilities, is_frame: bool,
                           progress: ProgressFn | None) -> np.ndarray:
        """Plan and fit the preprocessing, record what it did (cleaning, outliers, feature
        groups), and return the preprocessed training rows."""
        numeric = list(fr.features)
        signed = [c for c in numeric if self.feature_roles_.get(c) == "money"]
        self.plan_ = plan_preprocessing(
            train, numeric, list(fr.categorical_features), impute=self.impute,
            clip=self.clip, log=self.log, scaling=self.scaling, signed_log=signed,
            winsorize=self.outliers == "winsorize" and is_frame,
            group_threshold=GROUP_R if self.feature_groups and is_frame else None,
            category_weight=CATEGORY_WEIGHT if use_cat else 1.0)
        if caps.handles_categoricals:
            self.plan_.categorical_encoding = "ordinal"
        self.cleaning_["imputed"] = {c: n for c, n in self.cleaning_["missing_values"].items()
                                     if self.impute != "drop"}
        self.cleaning_["log_transformed"] = list(self.plan_.log_columns)
        self.cleaning_["clipped_at_quantile"] = self.plan_.clip
        if progress:
            progress("preprocess", 0, 1)
        self.preprocessor_ = build_preprocessor(self.plan_)
        Z = np.ascontiguousarray(self.preprocessor_.fit_transform(train), dtype=np.float64)
        if self.plan_.clip is not None and numeric:
            clipper = self.preprocessor_.named_transformers_["numeric"].named_steps["clip"]
            values = train[numeric].to_numpy(dtype=np.float64)
            outside = (values < clipper.lower_) | (values > clipper.upper_)
            self.cleaning_["clipped"] = {c: int(n) for c, n in zip(numeric, outside.sum(axis=0),
                                                                   strict=True) if n}
        self.outliers_ = self._find_outliers(train, numeric, rows)
        self.reduction_ = self._reduction(numeric)
        if progress:
            progress("preprocess", 1, 1)
        return Z

    def _choose_k(self, spec: registry.AlgorithmSpec, Z: np.ndarray, k_values: list[int],
                  seed: int, progress: ProgressFn | None
                  ) -> tuple[KSelection, Any, dict[str, Any], SilhouetteSample | None]:
        """Choose k and fit the method: the choice, the fitted model, the method's options
        and the customers the silhouettes of k were measured on (their distances serve the
        final scores when k was chosen on every customer)."""
        n = Z.shape[0]
        sample_idx = None
        if n > SELECTION_SAMPLE and len(k_values) > 1:
            sample_idx = np.sort(np.random.RandomState(seed).choice(n, SELECTION_SAMPLE,
                                                                    replace=False))
        Zs = Z if sample_idx is None else Z[sample_idx]
        k_values, only = possible_k_values(Zs, k_values)
        Zs, reduced = self._selection_space(Zs, k_values, seed)
        useful = (tuple(self.useful_k) if self.useful_k is not None and self.k == "auto"
                  else None)
        options = self._algorithm_options(Z)
        sample = None
        if not spec.capabilities.needs_k:
            selection, model = self._fit_finding_k(spec, Z, seed, options)
        elif spec.embedding is not None:
            selection, model = self._fit_embedded(spec, Z, Zs, k_values, seed, useful,
                                                  sample_idx is not None, progress)
        else:
            sample = SilhouetteSample(Zs, seed)
            selection, model = self._fit_selecting_k(
                Z, Zs, k_values, seed, options, useful=useful, only_possible=only,
                sample_idx=sample_idx, reduced=reduced, progress=progress, sample=sample)
        return selection, model, options, sample

    def _fit_selecting_k(self, Z: np.ndarray, Zs: np.ndarray, k_values: list[int], seed: int,
                         options: dict[str, Any], *, useful: tuple[int, int] | None,
                         only_possible: str | None, sample_idx: np.ndarray | None,
                         reduced: str | None, progress: ProgressFn | None,
                         sample: SilhouetteSample | None = None) -> tuple[KSelection, Any]:
        """A method given k (K-Means and the others): k chosen on ``Zs`` (the selection
        sample, or its principal components; ``sample``: its silhouette sample), then the
        method re-fitted on every customer when ``Zs`` was not all of them."""
        stability_fn = None
        if self.stability:
            stability_fn = self._stability_for_k(Zs, seed, options)
        selection = select_k(Zs, k_values, random_state=seed, n_init=self.n_init,
                             progress=progress, n_threads=self.n_threads,
                             algorithm=self.algorithm, options=options, stability=stability_fn,
                             useful=useful, only_possible=only_possible,
                             silhouette_sample=sample)
        k = selection.chosen_k
        spec = registry.get(self.algorithm)
        fitted = selection.model  # fitted on Zs with the seed, before the refine step
        model = selection.model = refine_model(self.algorithm, fitted, Zs, seed)
        if selection.outside is not None and not selection.outside.get("taken"):
            caps = spec.capabilities
            same_fit = not (caps.parallel_k or caps.one_fit_for_all_k)  # as a re-fit is
            self._add_action_stability(selection, Zs, seed, options,
                                       fitted.labels_ if same_fit else None)
        if sample_idx is None and reduced is None:
            return selection, model
        if spec.capabilities.centres_only:
            from sklearn.cluster import KMeans

            centres = model.cluster_centers_
            if reduced is not None:  # the segments' centres over every feature
                full = Z if sample_idx is None else Z[sample_idx]
                centres = np.vstack([full[model.labels_ == j].mean(axis=0)
                                     for j in range(k)])
                selection.explanation += reduced
            model = KMeans(k, init=centres, n_init=1, random_state=seed).fit(Z)
        else:
            model = fit_method(self.algorithm, k, Z, seed, self.n_init, options)
        if sample_idx is not None:
            selection.n_samples = int(SELECTION_SAMPLE)
        if progress:
            progress("fit", 1, 1)
        return selection, model

    def _fit_segments(self, selection: KSelection, model: Any, Z: np.ndarray, seed: int,
                      options: dict[str, Any], sample: SilhouetteSample | None = None
                      ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """Number the segments by size (0 the largest) and keep the fitted model: the
        training rows' segments, distances to their centre and probabilities (``sample``:
        the silhouette sample k was chosen with)."""
        caps = registry.get(self.algorithm).capabilities
        k = selection.chosen_k
        n = Z.shape[0]
        selection.model = None
        raw = np.asarray(model.labels_, dtype=np.int64)
        order, label_map = number_by_size(np.bincount(raw[raw >= 0], minlength=k))
        self.k_ = int(k)
        self.k_selection_: KSelection = selection
        if caps.centres_only:
            self.model_ = None
            centres = model.cluster_centers_[order]
            new_labels, dist = pairwise_distances_argmin_min(Z, centres)
            self.cluster_centers_ = centres
            probabilities = np.full(n, np.nan)
        else:
            self.model_ = model
            self.label_map_ = label_map
            new_labels = np.where(raw >= 0, label_map[np.clip(raw, 0, None)], -1)
            S = self._space(Z)
            self.cluster_centers_ = np.vstack([S[new_labels == s].mean(axis=0)
                                               for s in range(k)])
            dist = self._distance(S, new_labels)
            probabilities = (np.asarray(model.probabilities_, dtype=float)
                             if hasattr(model, "probabilities_") else np.full(n, np.nan))
        assigned = new_labels >= 0
        self.inertia_ = float(np.nansum(dist[assigned] ** 2))
        self.final_scores_ = partition_scores(self._space(Z), new_labels, k, seed,
                                              sample=sample)
        self.stability_ = None
        if self.stability:
            self.stability_ = bootstrap_stability(
                Z, new_labels, lambda Zb, sd: self._refit_labels(Zb, sd, options),
                random_state=seed)
        return new_labels, dist, probabilities

    def _label_every_row(self, frame: pd.DataFrame, kept: np.ndarray, fit_rows: np.ndarray,
                         new_labels: np.ndarray, dist: np.ndarray,
                         probabilities: np.ndarray) -> None:
        """Segment, distance and probability of every input row: the fitted rows', and
        the exact duplicates' (left out of fitting) assigned as their twin."""
        n_input = len(frame)
        labels_all = np.full(n_input, -1, dtype=np.int64)
        dist_all = np.full(n_input, np.nan)
        fit_mask = np.zeros(n_input, dtype=bool)
        fit_mask[kept[fit_rows]] = True
        labels_all[kept[fit_rows]] = new_labels
        dist_all[kept[fit_rows]] = dist
        proba_all = np.full(n_input, np.nan)
        proba_all[kept[fit_rows]] = probabilities
        dup = np.setdiff1d(np.arange(n_input), kept)
        if len(dup):
            twin_lab, twin_dist, twin_proba = self._assign(frame.iloc[dup], with_proba=True)
            labels_all[dup], dist_all[dup], proba_all[dup] = twin_lab, twin_dist, twin_proba
        self.labels_ = labels_all
        self.distances_ = dist_all
        self.probabilities_ = proba_all
        self.fit_mask_ = fit_mask

    def _fit_profiles(self, train: pd.DataFrame, new_labels: np.ndarray, fr: Any,
                      rules: Any, progress: ProgressFn | None) -> None:
        """Profile, name and recommend the segments (the columns that only describe them
        included)."""
        if progress:
            progress("profile", 0, 1)
        describe_num = [d.feature for d in fr.decisions
                        if d.use == "describe" and d.role != "category" and d.feature]
        describe_cat = [d.feature for d in fr.decisions
                        if d.use == "describe" and d.role == "category" and d.feature]
        self.segments_: list[SegmentProfile]
        self.segments_, self.profiles_ = profile_segments(
            train, new_labels, list(fr.features),
            categorical_features=list(fr.categorical_features),
            describe_numeric=describe_num, describe_categorical=describe_cat, rules=rules,
            **self._profile_context())
        if progress:
            progress("profile", 1, 1)

    def _fit_finding_k(self, spec: registry.AlgorithmSpec, Z: np.ndarray, seed: int,
                       options: dict[str, Any]) -> tuple[KSelection, Any]:
        """A method that finds the number of segments itself (density): fitted on every
        customer; customers in no segment are Unassigned."""
        n = Z.shape[0]
        model = spec.make(None, random_state=seed, n_init=self.n_init, n_samples=n,
                          **options).fit(Z)
        k = int(model.n_clusters_)
        if k < 1:
            raise DataError([Problem(None, f"{spec.title} found no dense segment: every "
                                     "customer would be unassigned; try another `algorithm`",
                                     code="no-segments")])
        explanation = (spec.explain(model, n) if spec.explain is not None
                       else f"{spec.title} found {k} segments.")
        selection = KSelection(method="density", chosen_k=k,
                               scores=[partition_scores(Z, model.labels_, k, seed)],
                               explanation=explanation, structure="", n_samples=n)
        return selection, model

    def _fit_embedded(self, spec: registry.AlgorithmSpec, Z: np.ndarray, Zs: np.ndarray,
                      k_values: list[int], seed: int, useful: tuple[int, int] | None,
                      sampled: bool, progress: ProgressFn | None) -> tuple[KSelection, Any]:
        """A method that segments an embedding with K-Means (deep): the embedding is fitted
        on ``Zs`` (the selection sample), k chosen on it, K-Means re-fitted on every
        customer's embedding when ``Zs`` is a sample."""
        assert spec.embedding is not None and spec.assemble is not None
        if progress:
            progress("embed", 0, 1)
        embedding = spec.embedding(seed).fit(Zs)
        if progress:
            progress("embed", 1, 1)
        selection = select_k(embedding.transform(Zs), k_values, random_state=seed,
                             n_init=self.n_init, progress=progress,
                             n_threads=self.n_threads, useful=useful)
        k = selection.chosen_k
        E = embedding.transform(Z)
        km = selection.model
        if sampled:
            from sklearn.cluster import KMeans

            km = KMeans(k, init=km.cluster_centers_, n_init=1, random_state=seed).fit(E)
            selection.n_samples = int(SELECTION_SAMPLE)
        return selection, spec.assemble(embedding, km, E, seed)

    def _selection_space(self, Zs: np.ndarray, k_values: list[int], seed: int
                         ) -> tuple[np.ndarray, str | None]:
        """The customers k is chosen on: ``Zs`` itself, or for K-Means on more than
        :data:`SELECTION_MAX_DIMS` features their first :data:`SELECTION_COMPONENTS`
        principal components, with a sentence for the explanation of k."""
        d = Zs.shape[1]
        if (not registry.get(self.algorithm).capabilities.centres_only or len(k_values) < 2
                or d <= SELECTION_MAX_DIMS):
            return Zs, None
        from sklearn.decomposition import PCA

        n_comp = min(SELECTION_COMPONENTS, Zs.shape[0] - 1)
        pca = PCA(n_components=n_comp, svd_solver="randomized", random_state=seed)
        P = np.ascontiguousarray(pca.fit_transform(Zs), dtype=np.float64)
        held = float(pca.explained_variance_ratio_.sum())
        return P, (f" With {d:,} features, k was chosen on their first {n_comp} principal "
                   f"components ({held:.0%} of the variance); the segments were then fitted "
                   "on every feature.")

    def _add_action_stability(self, selection: KSelection, Zs: np.ndarray, seed: int,
                              options: dict[str, Any],
                              fitted: np.ndarray | None = None) -> None:
        """When k was chosen for action over a k that separates better, say whether its
        segments are stable: mean adjusted Rand index between re-fits on 80% subsamples of
        at most 2,000 customers (10 re-fits).  ``fitted``: the labels of the method fitted on
        ``Zs`` with ``seed`` while choosing k, when a re-fit gives the same."""
        k = selection.chosen_k
        score = next((sc for sc in selection.scores if sc.k == k), None)
        known = {k: fitted} if fitted is not None else None
        value = (score.stability if score is not None and score.stability is not None
                 else self._stability_for_k(Zs, seed, options, known)(k))
        if selection.outside is not None:
            selection.outside["chosen_stability"] = round(float(value), 4)
        word = ("stable" if value >= 0.8 else "fairly stable" if value >= 0.6
                else "not stable")
        selection.explanation += (f" The {k} segments are {word}: re-fitted on subsamples "
                                  f"they agree at {value:.2f} (adjusted Rand index).")

    # ---------------------------------------------------------------- roles, outliers
    def _load_labels(self) -> LabelFile:
        return resolve_labels(self.labels)

    def _profile_context(self) -> dict[str, Any]:
        """Roles and labels for profiling (names, evidence, recommendations)."""
        return {"roles": dict(self.feature_roles_), "labels": dict(self.labels_map_),
                "value_labels": dict(getattr(self, "value_labels_", {})),
                "log_columns": list(self.plan_.log_columns),
                "level_names": {d.name: d.levels
                                for d in getattr(self, "derivations_", [])
                                if d.kind == "levels"},
                "echoes": dict(getattr(self, "echoes_", {}))}

    def _find_outliers(self, train: pd.DataFrame, numeric: list[str],
                       rows: np.ndarray) -> dict[str, Any]:
        """Customers beyond the far-out fences on some feature (on the scale the features
        are fitted on: after the log), with a few examples per column (their 1-based data
        rows: ``rows`` holds the 0-based input row of each row of ``train``)."""
        out: dict[str, Any] = {"method": FENCE_METHOD,
                               "winsorized": self.plan_.winsorize, "rows": 0, "share": 0.0,
                               "columns": {}}
        if not numeric or not self.plan_.winsorize:
            return out
        pipe = self.preprocessor_.named_transformers_["numeric"]
        cut = [name for name, _ in pipe.steps].index("fences")
        fences = pipe.named_steps["fences"]
        before = np.asarray(pipe[:cut].transform(train[numeric]), dtype=np.float64)
        low, high = fences.outside(before)
        flagged = low | high
        any_row = flagged.any(axis=1)
        out["rows"] = int(any_row.sum())
        out["share"] = round(float(any_row.mean()), 6) if len(any_row) else 0.0
        raw = train[numeric].to_numpy(dtype=np.float64)
        inverse = self._fence_values(pipe, cut, fences, numeric)
        for j, c in enumerate(numeric):
            idx = np.flatnonzero(flagged[:, j])
            if not len(idx):
                continue
            order = idx[np.argsort(-np.abs(before[idx, j] - np.median(before[:, j])),
                                   kind="stable")][:OUTLIER_EXAMPLES]
            out["columns"][c] = {
                "count": len(idx), "low": int(low[:, j].sum()), "high": int(high[:, j].sum()),
                "lower": inverse[c][0], "upper": inverse[c][1],
                "examples": [{"row": int(rows[i]) + 1, "value": float(raw[i, j])}
                             for i in sorted(order)]}
        return out

    @staticmethod
    def _fence_values(pipe: Any, cut: int, fences: Any, numeric: list[str]
                      ) -> dict[str, tuple[float | None, float | None]]:
        """The fences in the columns' own units (the log undone)."""
        return dict(zip(numeric, fences_in_units(pipe), strict=True))

    def _reduction(self, numeric: list[str]) -> dict[str, Any]:
        """How the features were weighted before clustering (groups of correlated ones)."""
        info: dict[str, Any] = {"method": "none", "groups": []}
        if not numeric or self.plan_.group_threshold is None or len(numeric) < 2:
            return info
        groups = self.preprocessor_.named_transformers_["numeric"].named_steps["groups"]
        return dict(groups.describe(numeric))

    # ---------------------------------------------------------------- methods
    def _algorithm_options(self, Z: np.ndarray) -> dict[str, Any]:
        if registry.get(self.algorithm).capabilities.handles_categoricals:
            n_num = len(self.plan_.numeric)
            return {"categorical": list(range(n_num, Z.shape[1]))}
        return {}

    def _space(self, Z: np.ndarray) -> np.ndarray:
        """The space where segment centres and distances live: the preprocessed features,
        for k-prototypes numeric features plus weighted one-hot categories, for deep the
        autoencoder's embedding."""
        space = registry.get(self.algorithm).space
        if space is not None and self.model_ is not None:
            return space(self.model_, Z)
        return Z

    def _distance(self, S: np.ndarray, labels: np.ndarray) -> np.ndarray:
        dist = np.full(len(labels), np.nan)
        ok = labels >= 0
        dist[ok] = np.sqrt(((S[ok] - self.cluster_centers_[labels[ok]]) ** 2).sum(axis=1))
        return dist

    def _refit_labels(self, Z: np.ndarray, seed: int, options: dict[str, Any]) -> np.ndarray:
        """Labels of the same method re-fitted on ``Z`` (for bootstrap stability)."""
        spec = registry.get(self.algorithm)
        if not spec.capabilities.needs_k:
            return np.asarray(spec.make(None, random_state=seed, n_samples=len(Z),
                                        **options).fit(Z).labels_)
        return np.asarray(fit_method(self.algorithm, self.k_, Z, seed, self.n_init,
                                     options).labels_)

    def _stability_for_k(self, Zs: np.ndarray, seed: int, options: dict[str, Any],
                         known: dict[int, np.ndarray] | None = None
                         ) -> Callable[[int], float]:
        """``stability(k)``: the mean adjusted Rand index of re-fits with k segments on
        subsamples of (a sample of) ``Zs`` against the fit on it with ``seed``, the labels
        of that fit on ``Zs`` itself in ``known[k]`` when it was made already."""
        def stability(k: int) -> float:
            def refit(Zb: np.ndarray, sd: int) -> np.ndarray:
                return np.asarray(fit_method(self.algorithm, k, Zb, sd, self.n_init,
                                             options).labels_)

            pool = Zs
            if len(Zs) > STABILITY_SAMPLE:
                idx = np.random.RandomState(seed).choice(len(Zs), STABILITY_SAMPLE,
                                                         replace=False)
                pool = Zs[np.sort(idx)]
            with prechecked(pool):  # the parameters passed choosing k's fits
                reference = (np.asarray(known[k]) if pool is Zs and known and k in known
                             else refit(pool, seed))
                return bootstrap_stability(pool, reference, refit,
                                           n_resamples=K_STABILITY_RESAMPLES,
                                           random_state=seed).mean_ari

        return stability

    # ---------------------------------------------------------------- use
    def _assign(self, frame: pd.DataFrame, with_proba: bool = False) -> Any:
        typed = self.typed_features(frame)
        Z = np.asarray(self.preprocessor_.transform(typed), dtype=np.float64)
        proba = np.full(len(Z), np.nan)
        if self.model_ is None:
            labels, dist = pairwise_distances_argmin_min(Z, self.cluster_centers_)
            labels = labels.astype(np.int64)
        else:
            predict = registry.get(self.algorithm).predict
            if predict is not None:
                raw, proba = predict(self.model_, Z)
            else:
                raw = np.asarray(self.model_.predict(Z), dtype=np.int64)
                if hasattr(self.model_, "predict_proba"):
                    proba = self.model_.predict_proba(Z).max(axis=1)
            labels = np.where(raw >= 0, self.label_map_[np.clip(raw, 0, None)], -1)
            dist = self._distance(self._space(Z), labels)
        return (labels, dist, proba) if with_proba else (labels, dist)

    def predict(self, X: Any) -> np.ndarray:
        """Segment of each new customer: the nearest segment centre (K-Means, hierarchical),
        the most probable segment (Gaussian mixture), the k-prototypes cost, or HDBSCAN's
        approximate prediction (-1: unassigned).

        ``X`` has the columns seen in ``fit``, in the same order; to score a table with
        other columns as well, use :meth:`assign`.
        """
        check_is_fitted(self)
        frame = self._input_frame(X, reset=False)
        return self._assign(frame)[0]

    def transform(self, X: Any) -> np.ndarray:
        """Distance of each customer to every segment centre, shape (n_samples, k)."""
        check_is_fitted(self)
        frame = self._input_frame(X, reset=False)
        Z = np.asarray(self.preprocessor_.transform(self.typed_features(frame)),
                       dtype=np.float64)
        return euclidean_distances(self._space(Z), self.cluster_centers_)

    def fit_predict(self, X: Any, y: Any = None, **kwargs: Any) -> np.ndarray:
        """Fit and return ``labels_``."""
        return self.fit(X, **kwargs).labels_

    def assign(self, df: pd.DataFrame) -> pd.DataFrame:
        """Score a table of new customers by column name (other columns are ignored).

        Returns a DataFrame with ``segment``, ``segment_name``, ``distance`` and, for
        methods that have one, ``probability``, indexed like ``df``.
        """
        check_is_fitted(self)
        if not isinstance(df, pd.DataFrame):
            raise UsageError("assign() takes a DataFrame; use predict() for arrays", "df")
        labels, dist, proba = self._assign(df, with_proba=True)
        names = np.array([s.name for s in self.segments_] + [UNASSIGNED], dtype=object)
        out = pd.DataFrame({"segment": labels, "segment_name": names[labels],
                            "distance": dist}, index=df.index)
        if registry.get(self.algorithm).capabilities.gives_probabilities:
            out["probability"] = proba
        return out


def segmenter_from_parts(
    params: dict[str, Any], *, columns: Sequence[str], roles: Roles, features: Sequence[str],
    plan: PreprocessPlan, preprocessor: ColumnTransformer, k_selection: KSelection,
    cluster_centers: np.ndarray, segments: list[SegmentProfile], profiles: pd.DataFrame,
    cleaning: dict[str, Any], warnings: list[Problem], inertia: float, final_scores: KScore,
    labels: np.ndarray | None = None, distances: np.ndarray | None = None,
    fit_mask: np.ndarray | None = None,
) -> Segmenter:
    """A fitted K-Means :class:`Segmenter` assembled from parts an engine computed itself.

    The engines that do not call :meth:`Segmenter.fit` (the fast path,
    :mod:`custseg.engines.local`, and Spark, :mod:`custseg.engines.spark`) build the same
    fitted estimator with this function, so that ``predict``, ``assign``, ``transform``,
    :func:`custseg.bundle.save_bundle`, ``custseg score`` and ``custseg serve`` treat their
    models as any other: new customers go through ``preprocessor`` (fitted
    :func:`custseg.preprocess.build_preprocessor` of ``plan``) to the nearest of
    ``cluster_centers`` (shape (k, n_scaled_features), segment 0, the largest, first).

    ``params`` are the constructor arguments (``get_params()`` keys only); ``columns`` the
    input table's columns in order (``predict`` takes a table with these); ``roles``,
    ``features``, ``plan``, ``cleaning``, ``warnings`` (:class:`~custseg.errors.Problem`),
    ``segments`` (:class:`~custseg.profiling.SegmentProfile`), ``profiles`` (the table of
    profiles.csv), ``inertia`` and ``final_scores`` what ``fit`` would have found;
    ``k_selection`` the choice of k (its ``model`` is dropped: not serialised);
    ``labels``, ``distances`` and ``fit_mask`` per training row, when the engine holds them
    (kept out of bundles).

    >>> from custseg import Segmenter, load_table, demo_data_path
    >>> df = load_table(demo_data_path())
    >>> fitted = Segmenter(k=5, features=["Annual Income (k$)", "Spending Score (1-100)"],
    ...                    random_state=0).fit(df)
    >>> copy = segmenter_from_parts(
    ...     fitted.get_params(), columns=list(df.columns), roles=fitted.roles_,
    ...     features=fitted.features_, plan=fitted.plan_, preprocessor=fitted.preprocessor_,
    ...     k_selection=fitted.k_selection_, cluster_centers=fitted.cluster_centers_,
    ...     segments=fitted.segments_, profiles=fitted.profiles_, cleaning=fitted.cleaning_,
    ...     warnings=fitted.warnings_, inertia=fitted.inertia_,
    ...     final_scores=fitted.final_scores_)
    >>> bool((copy.predict(df) == fitted.predict(df)).all())
    True
    """
    seg, centres = _kmeans_segmenter(params, cluster_centers, len(segments))
    k_selection.model = None
    _set_attributes(
        seg, n_features_in_=len(columns),
        feature_names_in_=np.asarray(list(columns), dtype=object), roles_=roles,
        features_=list(features), warnings_=list(warnings), cleaning_=cleaning, plan_=plan,
        preprocessor_=preprocessor, k_=int(centres.shape[0]), k_selection_=k_selection,
        model_=None, cluster_centers_=centres, inertia_=float(inertia),
        final_scores_=final_scores, stability_=None)
    if labels is not None:
        _set_attributes(
            seg, labels_=labels,
            distances_=distances if distances is not None else np.full(len(labels), np.nan),
            probabilities_=np.full(len(labels), np.nan),
            fit_mask_=fit_mask if fit_mask is not None else labels >= 0)
    _set_attributes(seg, segments_=segments, profiles_=profiles, **_not_computed())
    return seg


def _kmeans_segmenter(params: dict[str, Any], cluster_centers: np.ndarray,
                      n_segments: int) -> tuple[Segmenter, np.ndarray]:
    """An unfitted K-Means :class:`Segmenter` of ``params``, and its centres checked."""
    centres = np.asarray(cluster_centers, dtype=np.float64)
    if centres.ndim != 2 or centres.shape[0] != n_segments:
        raise ValueError(f"cluster_centers must have one row a segment ({n_segments}), "
                         f"got shape {centres.shape}")
    seg = Segmenter(**params)
    if not registry.get(seg.algorithm).capabilities.centres_only:
        raise ValueError(f"segmenter_from_parts builds K-Means models only, got algorithm "
                         f"{seg.algorithm!r}")
    return seg, centres


def _set_attributes(seg: Segmenter, **attributes: Any) -> None:
    """Set fitted attributes, in the order given (the order the model file stores them)."""
    for name, value in attributes.items():
        setattr(seg, name, value)


def _not_computed() -> dict[str, Any]:
    """The fitted attributes an engine's K-Means does not compute, as ``fit`` leaves them
    when there is nothing to say (no derived columns, no outliers, no feature groups)."""
    return {"derivations_": [], "column_decisions_": [], "near_duplicates_": [], "echoes_": {},
            "feature_roles_": {}, "labels_map_": {}, "value_labels_": {},
            "outliers_": {"method": "none", "winsorized": False, "rows": 0, "share": 0.0,
                          "columns": {}},
            "reduction_": {"method": "none", "groups": []}}
