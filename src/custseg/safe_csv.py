"""CSV outputs safe to open in a spreadsheet: text cells that a spreadsheet would run as a
formula ("CSV injection") are written with a leading apostrophe, numbers left alone."""

from __future__ import annotations

import os
import re
from typing import Any

import pandas as pd

#: First characters that make a spreadsheet read a text cell as a formula (OWASP, "CSV
#: injection"): such cells are written with a leading apostrophe, numbers are left alone.
FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")
_NUMBER = re.compile(r"^[+-]?(\d+\.?\d*|\.\d+)([eE][+-]?\d+)?$")


def neutralise_cell(value: Any) -> Any:
    """A text cell made safe for spreadsheets: ``'`` is put before a cell starting with
    ``= + - @``, a tab or a carriage return, unless the cell is a number such as ``-12.5``.

    >>> neutralise_cell("=SUM(A1:A9)"), neutralise_cell("-12.5"), neutralise_cell(3)
    ("'=SUM(A1:A9)", '-12.5', 3)
    """
    if isinstance(value, str) and value.startswith(FORMULA_STARTS) and not _NUMBER.match(value):
        return "'" + value
    return value


def neutralise_frame(frame: pd.DataFrame) -> pd.DataFrame:
    """The frame with :func:`neutralise_cell` applied to its column names and text cells
    (numeric columns are not touched); the frame itself when nothing needs it."""
    names = [neutralise_cell(str(c)) if isinstance(c, str) else c for c in frame.columns]
    text_cols = [c for c in frame.columns
                 if frame[c].dtype == object or isinstance(frame[c].dtype, pd.StringDtype)]
    risky = [c for c in text_cols
             if frame[c].astype(str).str.startswith(FORMULA_STARTS).any()]
    if not risky and names == list(frame.columns):
        return frame
    out = frame.copy()
    for c in risky:
        out[c] = out[c].map(neutralise_cell)
    out.columns = names
    return out


def write_csv(frame: pd.DataFrame, path: str | os.PathLike[str], **options: Any) -> None:
    """Write a frame as CSV (LF line ends, no index unless asked) with its text cells
    neutralised for spreadsheets (:func:`neutralise_frame`)."""
    options = {"index": False, "lineterminator": "\n", **options}
    frame = neutralise_frame(frame)
    arrow_text = [c for c in frame.columns if isinstance(frame[c].dtype, pd.StringDtype)
                  and frame[c].dtype.storage == "pyarrow"]
    if arrow_text:  # pandas writes Arrow-backed text cell by cell: 2x slower when wide
        frame = frame.astype(dict.fromkeys(arrow_text, object))
    frame.to_csv(path, **options)


def neutralise_arrow(table: Any) -> Any:
    """:func:`neutralise_frame` for an Arrow table or record batch (string columns only)."""
    import pyarrow as pa
    import pyarrow.compute as pc

    columns = []
    for col in table.columns:
        if pa.types.is_string(col.type) or pa.types.is_large_string(col.type):
            risky = pc.and_(pc.match_substring_regex(col, r"^[=+\-@\t\r]"),
                            pc.invert(pc.match_substring_regex(col, _NUMBER.pattern)))
            risky = pc.fill_null(risky, False)
            if pc.any(risky).as_py():
                col = pc.if_else(risky, pc.binary_join_element_wise("'", col, ""), col)
        columns.append(col)
    names = [neutralise_cell(n) for n in table.schema.names]
    return type(table).from_arrays(columns, names=names)
