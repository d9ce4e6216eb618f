"""One pipeline definition, and what an engine implements.

Every engine runs the same stages (:data:`STAGES`) with the same rules: what a number, a
missing value and a junk cell are, how a column's role is decided, how the data are
scaled, how k is chosen, how a segment is numbered, profiled and named.  Those rules live
once, in the library modules each :class:`Stage` names; an engine implements only what
differs: how a table is read, aggregated and passed over (pandas in memory, Arrow in
chunks, Spark).

Where do I add a new engine?

1. Write a class with a ``name`` and the two methods of :class:`Engine`: ``segment(path,
   **options)`` returning a result that has ``summary`` (the ``summary.json`` document), and
   ``write(result, out, force=..., report=..., fmt=...)`` writing the output folder.
2. Read and aggregate however the engine needs, but take every rule from the functions the
   :data:`STAGES` name (``custseg.parsing.parse_numeric``, ``validate_table``,
   ``custseg.preprocess.plan_preprocessing``, ``custseg.selection.select_k``,
   ``custseg.profiling.profiles_from_statistics``, ``custseg.selection.number_by_size``...):
   never restate one.
3. ``register_engine("mine", MyEngine)`` (:mod:`custseg.engines.registry`, which also holds
   the three built-in engines); ``get_engine("mine")`` then runs it.
4. Add it to ``tests/integration/test_engines_agree.py`` (it must give the standard
   engine's k, sizes, partition, profiles, roles and names); the toy engine there is a
   complete example.
"""

from __future__ import annotations

import importlib
import os
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol, runtime_checkable

from custseg.errors import Problem

ProgressFn = Callable[[str, int, int], None]


@dataclass(frozen=True)
class Stage:
    """A stage of the pipeline: its name, what it does, and the library functions that hold
    its rules (``module:function``), which every engine calls or states exactly."""

    name: str
    does: str
    rules: tuple[str, ...]


#: The pipeline, in order.  ``tests/integration/test_engines_agree.py`` checks that every
#: rule named here exists.
STAGES: tuple[Stage, ...] = (
    Stage("read", "the table and its SHA-256, encoding and delimiter detected",
          ("custseg.io:read_table", "custseg.io:decode_text", "custseg.io:detect_delimiter")),
    Stage("validate", "cells parsed as numbers (junk, missing markers, decimal commas); "
          "infinite, too large, empty and constant columns",
          ("custseg.parsing:parse_numeric", "custseg.parsing:comma_reading",
           "custseg.parsing:junk_problem", "custseg.parsing:marker_problem",
           "custseg.parsing:infinite_problem", "custseg.parsing:too_large_problem",
           "custseg.parsing:all_missing_problem", "custseg.parsing:constant_problem",
           "custseg.engines.base:new_cleaning", "custseg.engines.base:record_unreadable")),
    Stage("roles", "id, numeric, categorical and ignored columns; the features",
          ("custseg.schema:validate_table",)),
    Stage("prepare", "imputation, clipping, log of skewed columns, signed log of amounts "
          "that can be negative, scaling",
          ("custseg.preprocess:plan_preprocessing", "custseg.preprocess:build_preprocessor",
           "custseg.preprocess:wants_log", "custseg.preprocess:sample_skewness",
           "custseg.roles:money_columns", "custseg.preprocess:wants_signed_log")),
    Stage("choose k", "the k tried, each scored, the consensus",
          ("custseg.segmenter:k_values", "custseg.selection:select_k",
           "custseg.selection:score_partition", "custseg.selection:consensus_for_action",
           "custseg.selection:single_k_selection", "custseg.selection:possible_k_values")),
    Stage("fit", "the final model on every customer", ("custseg.selection:fit_method",)),
    Stage("assign", "each customer's segment, numbered by size, and distance",
          ("custseg.selection:number_by_size",)),
    Stage("profile", "per-segment statistics, levels, names and recommendations",
          ("custseg.profiling:profiles_from_statistics", "custseg.profiling:load_rules")),
    Stage("write", "segments, profiles.csv, summary.json, report.html, model/",
          ("custseg.pipeline:write_model_and_report", "custseg.pipeline:write_summary",
           "custseg.io:atomic_output_dir")),
)


def rule(dotted: str) -> Any:
    """The function a :class:`Stage` names (``"custseg.parsing:parse_numeric"``)."""
    module, _, name = dotted.partition(":")
    return getattr(importlib.import_module(module), name)


# ----------------------------------------------------------------- rules every engine uses
def new_cleaning(rows_read: int, duplicates_dropped: int = 0,
                 columns_dropped: dict[str, str] | None = None) -> dict[str, Any]:
    """The ``cleaning`` record of a run, before the checks fill it (summary.json's keys, in
    their order)."""
    return {"rows_read": rows_read, "duplicate_rows_dropped": duplicates_dropped,
            "junk_coerced": {}, "missing_markers": {}, "missing_values": {},
            "columns_dropped": dict(columns_dropped or {})}


def not_trait_warnings(gone: dict[str, str]) -> list[Problem]:
    """The warnings of columns left out of the features as not a trait of the customer
    (``gone``: :func:`custseg.roles.not_traits`, column -> reason)."""
    return [Problem(c, f"{why}: left out of the features", code="not-a-trait",
                    severity="warning") for c, why in gone.items()]


def record_unreadable(name: str, n_junk: int, n_filled: int, n_markers: int, *,
                      max_junk: float, cleaning: dict[str, Any], errors: list[Problem],
                      warns: list[Problem], junk: dict[str, Any] | None = None,
                      markers: dict[str, Any] | None = None) -> None:
    """Record a column's junk cells and missing markers, as every engine does: the
    findings (:func:`custseg.parsing.junk_problem`, an error above ``max_junk``;
    :func:`custseg.parsing.marker_problem`) and their counts in ``cleaning``.  ``junk`` and
    ``markers`` are the findings' ``rows``/``values`` examples."""
    from custseg.parsing import junk_problem, marker_problem

    if n_junk:
        prob = junk_problem(name, n_junk, n_filled, max_junk, **(junk or {}))
        (errors if prob.severity == "error" else warns).append(prob)
        cleaning["junk_coerced"][name] = n_junk
    if n_markers:
        warns.append(marker_problem(name, n_markers, **(markers or {})))
        cleaning["missing_markers"][name] = n_markers


# ----------------------------------------------------------------------------- engines
@runtime_checkable
class Engine(Protocol):
    """What an engine implements: run the stages where the data are, write the outputs."""

    name: str

    def segment(self, path: str | os.PathLike[str], *, progress: ProgressFn | None = None,
                command: str = "", **options: Any) -> Any:
        """Read and segment ``path``; the result has ``summary`` (``summary.json``)."""
        ...

    def write(self, result: Any, out: str | os.PathLike[str], *, force: bool = False,
              report: bool = True, fmt: str | None = None) -> Path:
        """Write the output folder atomically; returns its path.  ``fmt`` is the format of
        the assignments (``csv``, ``parquet``, ``auto``; None: the engine's default); an
        engine with one format of its own ignores it."""
        ...


def displayable(result: Any) -> Any:
    """The result as the terminal and the report take it: the engine's result itself, or
    what its ``report_result()`` gives (an engine whose data stay where they were read,
    like Spark, brings a sample and the per-segment numbers)."""
    to_report = getattr(result, "report_result", None)
    return to_report() if callable(to_report) else result
