"""The charts of the report, as Plotly figure dictionaries with their titles and notes.

:func:`explore_charts` draws the "Data" section, :func:`report_charts` every chart of a
segmentation's report in page order (the figures themselves: :mod:`custseg.report.figures`).
"""

from __future__ import annotations

import functools
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from custseg.algorithms import registry

if TYPE_CHECKING:
    import plotly.graph_objects as go

    from custseg.explore import DataOverview, SegmentViews
    from custseg.pipeline import SegmentationResult


@dataclass
class Chart:
    """One chart of the report: where it goes, its figure (``spec``: the dictionary Plotly's
    ``Figure.to_dict()`` gives, which the page embeds as it is), and what to say under it."""

    id: str
    section: str
    title: str
    spec: dict[str, Any]
    note: str = ""
    sampling: str = ""

    @functools.cached_property
    def figure(self) -> go.Figure:
        """The chart as a Plotly figure (built on first use: for PNGs and notebooks)."""
        import plotly.graph_objects as go

        return go.Figure(self.spec)


def sampling_note(shown: int, total: int, what: str = "customers", seed: int = 0) -> str:
    """The sentence under a chart that shows a sample ('' when it shows everyone)."""
    if shown >= total:
        return ""
    from custseg.explore import MIN_PER_SEGMENT

    return (f"Sampled: showing {shown:,} of {total:,} {what}, drawn at random within each "
            f"segment in proportion to its size (at least {MIN_PER_SEGMENT} a segment; seed "
            f"{seed}). The tables use every customer.")


def explore_charts(overview: DataOverview) -> list[Chart]:
    """The charts of the "Data" section."""
    from custseg.report import figures

    charts = []
    dist = figures.distributions_spec(overview)
    if dist is not None:
        charts.append(Chart(
            "distributions", "data", "Distribution of each column", dist,
            note="Histograms of numeric columns and counts of categorical ones, as read "
                 "(original units, before imputation and transforms); features in blue. "
                 "Hover a bar for its range and count."))
    corr = figures.correlation_spec(overview)
    if corr is not None:
        charts.append(Chart(
            "correlation", "data", "Correlation between numeric columns", corr,
            note="Pearson correlation, -1 to 1: red, they rise together; blue, one rises as "
                 "the other falls. Strongly correlated features weigh twice in the "
                 "segmentation."))
    return charts


def views_of(result: SegmentationResult) -> SegmentViews:
    """The segment views of a result: its own, or computed from it (the same seed)."""
    if result.views is not None:
        return result.views
    from custseg.explore import segment_views

    seed = result.summary.get("seed")
    return segment_views(result.segmenter, result.table, result.projection,
                         random_state=seed if isinstance(seed, int) else 0)


def overview_of(result: SegmentationResult) -> DataOverview:
    """The data overview of a result: its own, or computed from it."""
    if result.overview is not None:
        return result.overview
    from custseg.explore import overview_of_segmentation

    return overview_of_segmentation(result.segmenter, result.table, result.info,
                                    result.summary)


def _k_charts(summary: dict[str, Any]) -> list[Chart]:
    """The charts of "How many segments": the elbow curve and the indices by k."""
    from custseg.report import figures

    charts = []
    elbow = figures.elbow_spec(summary)
    if elbow is not None:
        knee = summary["k_selection"].get("elbow_k")
        charts.append(Chart(
            "elbow", "k", "Elbow curve: within-segment spread by number of segments", elbow,
            note=(f"The star marks the elbow (knee) at k = {knee}, where adding segments stops "
                  "paying off; the dashed line the chosen k." if knee is not None else
                  "The curve has no clear elbow; the dashed line marks the chosen k.")))
    scores = figures.k_scores_spec(summary)
    if scores is not None:
        charts.append(Chart(
            "k-scores", "k", "Silhouette, Calinski-Harabasz and Davies-Bouldin by k", scores,
            note="Stars: the best k by each index; dashed line: the chosen k."))
    return charts


def _segment_charts(summary: dict[str, Any], views: SegmentViews) -> list[Chart]:
    """The charts of "The segments": the customers drawn by segment, every pair of
    features, the sizes and the silhouettes."""
    from custseg.report import figures

    seed = views.random_state
    total = views.n_customers
    if views.projected:
        title = "Customers by segment, on the first two principal components"
        note = ("Principal components are the two directions in which customers differ most "
                "(across all scaled features); the axes have no units. Crosses: segment "
                "centres. Hover a point for the customer's id and values.")
    else:
        title = f"Customers by segment: {views.x_name} × {views.y_name}"
        note = ("Original units. Crosses: segment centres (means). Hover a point for the "
                "customer's id and values.")
    charts = [Chart("scatter", "segments", title, figures.segment_scatter_spec(summary, views),
                    note=note, sampling=sampling_note(len(views.points), total, seed=seed))]
    matrix = figures.scatter_matrix_spec(summary, views)
    if matrix is not None:
        charts.append(Chart(
            "scatter-matrix", "segments", "Every pair of features", matrix,
            note="Original units. Click a segment in the legend to hide or show it.",
            sampling=sampling_note(len(views.matrix_rows), total, seed=seed)))
    charts.append(Chart("sizes", "segments", "Segment sizes", figures.sizes_spec(summary)))
    charts.append(Chart(
        "silhouette", "segments", "Silhouette of each customer, by segment",
        figures.silhouette_spec(summary, views),
        note="Each bar is a customer, sorted within its segment: long bars sit well inside "
             "their segment; bars left of zero would fit another segment better. The dashed "
             "line is the mean.",
        sampling=sampling_note(len(views.silhouette), views.n_assigned,
                               what="customers in a segment", seed=seed)))
    return charts


def _dendrogram_chart(result: SegmentationResult) -> Chart | None:
    """The Ward tree of a hierarchical segmentation; None for the other methods."""
    from custseg.report import figures

    summary = result.summary
    model = getattr(result.segmenter, "model_", None)
    tree_method = registry.capabilities(summary.get("algorithm")).one_fit_for_all_k
    if not (tree_method and hasattr(model, "linkage_")):
        return None
    tree = figures.dendrogram_spec(model.linkage_, int(summary["k"]))
    if tree is None:
        return None
    micro = summary.get("hierarchy", {}).get("micro_clusters")
    return Chart(
        "dendrogram", "segments", "How the segments nest: the Ward tree (top merges)",
        tree,
        note=("Built on 300 K-Means micro-clusters weighted by their sizes (more than "
              "20,000 customers). " if micro else "")
        + f"Only the top {figures.DENDROGRAM_LEAVES} groups are drawn; a number in "
          "brackets is how many leaves a group holds. The dashed line is the cut "
          "that gives the chosen segments; the higher a merge, the more different "
          "the two groups it joins.")


def _snake_chart(summary: dict[str, Any]) -> Chart | None:
    """The heatmap of the segments' z-scores; None when there is nothing to draw."""
    from custseg.report import figures

    snake = figures.snake_spec(summary)
    if snake is None:
        return None
    return Chart(
        "z-heatmap", "profiles", "How each segment differs from the average customer",
        snake,
        note=("z-score of each segment's mean: how many standard deviations above (red) "
              "or below (blue) the average customer. Rows: the columns on which the "
              "segments differ most first; “(describes)” marks columns not segmented on."
              + (f" The top {len(snake['data'][0]['y'])} of "
                 f"{len(snake['data'][-1]['y'])} columns are shown: the button under the "
                 "chart shows them all." if len(snake["data"]) > 1 else "")))


def report_charts(result: SegmentationResult) -> list[Chart]:
    """Every chart of the report of ``result``, in page order."""
    summary = result.summary
    views = views_of(result)
    charts = explore_charts(overview_of(result))
    charts += _k_charts(summary)
    charts += _segment_charts(summary, views)
    optional = [_dendrogram_chart(result), _snake_chart(summary)]
    return charts + [chart for chart in optional if chart is not None]
