"""Write the bad-input corpus: small files that real users (and attackers) give custseg.

Run ``python tests/corpus/make_corpus.py`` to (re)write ``tests/corpus/cases/``; the files are
committed, and ``tests/integration/test_corpus.py`` checks they are what this script
writes.  Every case is
run through ``segment``, ``score`` and ``explore``; each must end with an exit code of the
documented set (docs/reliability.md), without a traceback, a partial output or a leftover
temporary file.  ``tamper_bundles`` makes broken copies of a real model bundle for ``score``.

The base table has the columns of the model the tests train: ``CustomerID, Gender, Age,
Income, Spend``; most cases are that table with one thing wrong.
"""

from __future__ import annotations

import csv
import io
import json
import random
import shutil
import sys
import zipfile
from collections.abc import Callable
from pathlib import Path

HERE = Path(__file__).resolve().parent
CASES = HERE / "cases"
HEADER = ["CustomerID", "Gender", "Age", "Income", "Spend"]
ROWS = 40


def base_rows(n: int = ROWS, seed: int = 0) -> list[list[str]]:
    """``n`` customers in three loose groups, as text cells."""
    rng = random.Random(seed)
    rows = []
    for i in range(n):
        g = i % 3
        income = [25, 60, 110][g] + rng.randint(-8, 8)
        spend = [70, 40, 15][g] + rng.randint(-9, 9)
        rows.append([f"{i + 1:04d}", rng.choice(["Male", "Female"]), str(rng.randint(18, 70)),
                     str(income), str(spend)])
    return rows


def to_text(rows: list[list[str]], header: list[str] | None = HEADER, delimiter: str = ",",
            end: str = "\n", quoting: int = csv.QUOTE_MINIMAL) -> str:
    buf = io.StringIO()
    w = csv.writer(buf, delimiter=delimiter, lineterminator=end, quoting=quoting)
    if header is not None:
        w.writerow(header)
    w.writerows(rows)
    return buf.getvalue()


def with_column(rows: list[list[str]], col: int, values: Callable[[int], str]
                ) -> list[list[str]]:
    return [[values(i) if j == col else c for j, c in enumerate(r)] for i, r in enumerate(rows)]


def cases() -> dict[str, bytes]:
    """Every case: file name -> bytes."""
    rows = base_rows()
    text = to_text(rows)
    out: dict[str, bytes] = {}

    def add(name: str, data: str | bytes, encoding: str = "utf-8") -> None:
        assert name not in out, name
        out[name] = data.encode(encoding) if isinstance(data, str) else data

    # ---- baseline and encodings
    add("ok.csv", text)
    accented = to_text(with_column(rows, 1, lambda i: ["Josée", "Zoë", "Ærø", "Straße"][i % 4]))
    for enc in ("utf-8", "utf-8-sig", "utf-16", "utf-16-le", "utf-16-be", "cp1252", "latin-1",
                "utf-32", "mac_roman", "cp850"):
        add(f"enc-{enc}.csv", accented, enc)
    add("enc-euro-cp1252.csv", to_text(with_column(rows, 3, lambda i: f"€{i + 20}")), "cp1252")
    add("enc-shift-jis.csv", to_text(with_column(rows, 1, lambda i: "東京")), "shift_jis")
    add("enc-invalid-utf8-bytes.csv", text.encode() .replace(b"Male", b"M\xffle", 3))
    add("enc-bom-then-latin1.csv", b"\xef\xbb\xbf" + accented.encode("latin-1"))
    add("enc-utf7.csv", accented, "utf-7")
    # ---- delimiters
    for name, d in (("semicolon", ";"), ("tab", "\t"), ("pipe", "|"), ("space", " "),
                    ("colon", ":")):
        add(f"delim-{name}.csv", to_text(rows, delimiter=d))
    add("delim-tab.tsv", to_text(rows, delimiter="\t"))
    add("delim-semicolon-decimal-comma.csv",
        to_text(with_column(rows, 3, lambda i: f"{20 + i},5"), delimiter=";"))
    add("delim-mixed.csv", "".join(
        line.replace(",", ";") if i % 2 else line
        for i, line in enumerate(text.splitlines(keepends=True))))
    add("delim-single-column.csv", to_text([[r[3]] for r in rows], header=["Income"]))
    add("delim-comma-in-unquoted-name.csv", to_text(
        with_column(rows, 1, lambda i: "Smith, John" if i == 3 else "Jo")).replace(
            '"Smith, John"', "Smith, John"))
    # ---- quoting
    add("quote-all.csv", to_text(rows, quoting=csv.QUOTE_ALL))
    add("quote-nonnumeric.csv", to_text(rows, quoting=csv.QUOTE_NONNUMERIC))
    add("quote-delimiter-inside.csv", to_text(with_column(rows, 1, lambda i: "a, b; c|d")))
    add("quote-newline-inside.csv", to_text(with_column(rows, 1, lambda i: "line1\nline2")))
    add("quote-crlf-inside.csv", to_text(with_column(rows, 1, lambda i: "l1\r\nl2")))
    add("quote-doubled-quotes.csv", to_text(with_column(rows, 1, lambda i: 'say "hi"')))
    add("quote-unclosed.csv", text + '"0999,Male,30,40,50\n')
    add("quote-unclosed-early.csv", text.replace("0003,", '"0003,', 1))
    add("quote-in-middle.csv", text.replace(",Male,", ',Ma"le,', 2))
    add("quote-single-quotes.csv", to_text(with_column(rows, 1, lambda i: "'Male'")))
    add("quote-numbers-quoted.csv", text.replace(",", ',"', 1).replace(",", '",', 1))
    # ---- line endings
    add("eol-crlf.csv", to_text(rows, end="\r\n"))
    add("eol-cr.csv", to_text(rows, end="\r"))
    add("eol-mixed.csv", "".join(line + ("\r\n" if i % 2 else "\n")
                                 for i, line in enumerate(text.splitlines())))
    add("eol-stray-cr-inside.csv", "".join(
        line.replace(",", ",\r", 1) + "\n" if i % 7 == 3 else line + "\n"
        for i, line in enumerate(text.splitlines())))
    add("eol-no-final-newline.csv", text.rstrip("\n"))
    add("eol-blank-lines.csv", text.replace("\n", "\n\n"))
    add("eol-trailing-blank-lines.csv", text + "\n\n\n   \n")
    add("eol-leading-blank-lines.csv", "\n\n" + text)
    add("eol-bom-crlf.csv", "\ufeff" + to_text(rows, end="\r\n"))
    add("eol-form-feed.csv", text.replace("\n", "\f\n", 5))
    add("eol-unicode-line-separator.csv", text.replace("Male", "Ma\u2028le", 2))
    add("eol-nel.csv", text.replace("\n", "\x85"), "latin-1")
    # ---- widths
    add("width-trailing-delimiter.csv", "".join(line + ",\n" for line in text.splitlines()))
    add("width-trailing-delimiter-data-only.csv", "".join(
        line + ("," if i else "") + "\n" for i, line in enumerate(text.splitlines())))
    add("width-extra-field-one-line.csv", text.replace("0005,", "0005,extra,", 1))
    add("width-extra-field-many-lines.csv", "".join(
        line + (",x" if i % 3 == 1 else "") + "\n" for i, line in enumerate(text.splitlines())))
    add("width-missing-fields.csv", "".join(
        ",".join(line.split(",")[:3]) + "\n" if i % 5 == 2 else line + "\n"
        for i, line in enumerate(text.splitlines())))
    add("width-one-row-short.csv", text.replace("0007,", "", 1))
    add("width-header-longer.csv", text.replace("Spend", "Spend,Extra1,Extra2", 1))
    add("width-header-shorter.csv", text.replace(",Spend", "", 1))
    wide = [[f"{(i * 7 + j * 13) % 97}" for j in range(300)] for i in range(ROWS)]
    add("width-300-columns.csv", to_text(wide, header=[f"c{j}" for j in range(300)]))
    add("width-1-column-ids.csv", to_text([[r[0]] for r in rows], header=["CustomerID"]))
    add("width-only-id-and-text.csv", to_text([[r[0], r[1]] for r in rows],
                                              header=["CustomerID", "Gender"]))
    add("width-2-numeric.csv", to_text([[r[3], r[4]] for r in rows], header=["Income", "Spend"]))
    # ---- types
    add("type-thousands-separators.csv",
        to_text(with_column(rows, 3, lambda i: f"{(i + 20) * 1000:,}")))
    add("type-currency.csv", to_text(with_column(rows, 3, lambda i: f"${i + 20}.50")))
    add("type-currency-suffix.csv", to_text(with_column(rows, 3, lambda i: f"{i + 20} €")))
    add("type-percent.csv", to_text(with_column(rows, 4, lambda i: f"{i + 10}%")))
    add("type-decimal-comma-quoted.csv", to_text(with_column(rows, 3, lambda i: f"{i},{i}")))
    add("type-booleans.csv", to_text(with_column(rows, 4, lambda i: ["true", "false"][i % 2])))
    add("type-yes-no.csv", to_text(with_column(rows, 4, lambda i: ["yes", "no"][i % 2])))
    add("type-dates.csv", to_text(with_column(rows, 2, lambda i: f"2020-01-{i % 28 + 1:02d}")))
    add("type-datetimes-tz.csv", to_text(with_column(
        rows, 2, lambda i: f"2020-01-{i % 28 + 1:02d}T10:00:00+02:00")))
    add("type-junk-few.csv", to_text(with_column(rows, 3, lambda i: "??" if i == 4 else
                                                 rows[i][3])))
    add("type-junk-many.csv", to_text(with_column(rows, 3, lambda i: "n/a?" if i % 2 else
                                                  rows[i][3])))
    add("type-all-text.csv", to_text(with_column(with_column(
        with_column(rows, 2, lambda i: "x"), 3, lambda i: "y"), 4, lambda i: "z")))
    add("type-all-missing-column.csv", to_text(with_column(rows, 3, lambda i: "")))
    add("type-missing-markers.csv", to_text(with_column(
        rows, 3, lambda i: ["NA", "N/A", "null", "-", "", "?", "none", "NaN"][i % 8]
        if i % 3 == 0 else rows[i][3])))
    add("type-constant-column.csv", to_text(with_column(rows, 3, lambda i: "5")))
    add("type-all-constant.csv", to_text(with_column(with_column(
        with_column(rows, 2, lambda i: "5"), 3, lambda i: "5"), 4, lambda i: "5")))
    add("type-negative.csv", to_text(with_column(rows, 3, lambda i: f"-{i + 1}")))
    add("type-scientific.csv", to_text(with_column(rows, 3, lambda i: f"{i + 1}e3")))
    add("type-hex.csv", to_text(with_column(rows, 3, lambda i: hex(i + 20))))
    add("type-leading-zeros-ids.csv", to_text(with_column(rows, 0, lambda i: f"{i:010d}")))
    add("type-float-ids.csv", to_text(with_column(rows, 0, lambda i: f"{i}.0")))
    add("type-whitespace-cells.csv", to_text(with_column(rows, 3, lambda i: f"  {rows[i][3]}  ")))
    add("type-nbsp-numbers.csv", to_text(with_column(rows, 3, lambda i: f"{i + 20}\u00a0000")))
    add("type-unicode-digits.csv", to_text(with_column(rows, 3, lambda i: "٣٤")))
    add("type-fullwidth-digits.csv", to_text(with_column(rows, 3, lambda i: "３４")))
    add("type-mixed-int-text-codes.csv", to_text(with_column(
        rows, 1, lambda i: str(i % 3) if i % 2 else "A")))
    add("type-high-cardinality-text.csv", to_text(with_column(rows, 1, lambda i: f"name{i}")))
    # ---- extreme numbers
    for name, val in (("1e308", "1e308"), ("neg-1e308", "-1e308"), ("1e309", "1e309"),
                      ("inf", "inf"), ("neg-inf", "-inf"), ("Infinity", "Infinity"),
                      ("nan", "nan"), ("NaN", "NaN"), ("huge-int", "9" * 30),
                      ("denormal", "1e-320"), ("zero", "0"), ("neg-zero", "-0.0"),
                      ("long-decimal", "0." + "3" * 60), ("int64-max", str(2 ** 63)),
                      ("int64-min", str(-2 ** 63 - 1))):
        add(f"num-one-{name}.csv", to_text(with_column(
            rows, 3, lambda i, v=val: v if i == 5 else rows[i][3])))
    add("num-all-huge.csv", to_text(with_column(rows, 3, lambda i: f"{(i + 1) * 1e300:g}")))
    add("num-all-tiny.csv", to_text(with_column(rows, 3, lambda i: f"{(i + 1) * 1e-300:g}")))
    add("num-huge-range.csv", to_text(with_column(rows, 3, lambda i: f"{10 ** (i % 30)}")))
    add("num-all-zero.csv", to_text(with_column(rows, 3, lambda i: "0")))
    add("num-all-nan.csv", to_text(with_column(rows, 3, lambda i: "nan")))
    add("num-all-inf.csv", to_text(with_column(rows, 3, lambda i: "inf")))
    add("num-one-outlier.csv", to_text(with_column(
        rows, 3, lambda i: "99999999" if i == 0 else rows[i][3])))
    # ---- headers
    add("head-duplicate.csv", text.replace("Spend", "Age", 1))
    add("head-duplicate-after-trim.csv", text.replace("Spend", " Age ", 1))
    add("head-duplicate-case.csv", text.replace("Spend", "AGE", 1))
    add("head-blank-name.csv", text.replace(",Spend", ",", 1))
    add("head-all-blank.csv", "".join(
        (",,,,\n" if i == 0 else line + "\n") for i, line in enumerate(text.splitlines())))
    add("head-missing-numbers-as-header.csv", to_text(rows, header=None))
    add("head-only.csv", ",".join(HEADER) + "\n")
    add("head-only-no-newline.csv", ",".join(HEADER))
    add("head-long-names.csv", text.replace("Spend", "S" * 5000, 1))
    add("head-unicode.csv", text.replace("Income", "Revenu annuel (k€) 收入", 1))
    add("head-rich-markup.csv", text.replace("Income", "[bold]Income[/]", 1)
        .replace("Gender", "[/]", 1))
    add("head-html.csv", text.replace("Income", "<script>alert(1)</script>", 1))
    add("head-formula.csv", text.replace("Income", "=1+1", 1))
    add("head-quoted-newline.csv", text.replace("Income", '"Inc\nome"', 1))
    add("head-numeric-names.csv", text.replace("Income", "2020", 1).replace("Spend", "2021", 1))
    add("head-dots.csv", text.replace("Income", "Age.1", 1))
    add("head-nul-in-name.csv", text.replace("Income", "Inc\x00ome", 1))
    add("head-whitespace-names.csv", text.replace("Income", "   ", 1))
    add("head-path-names.csv", text.replace("Income", "../../etc/passwd", 1))
    # ---- ids and rows
    add("rows-one.csv", to_text(rows[:1]))
    add("rows-two.csv", to_text(rows[:2]))
    add("rows-three.csv", to_text(rows[:3]))
    add("rows-identical.csv", to_text([rows[0]] * ROWS))
    add("rows-identical-values-distinct-ids.csv", to_text(
        [[f"{i:04d}", *rows[0][1:]] for i in range(ROWS)]))
    add("rows-duplicate-lines.csv", to_text(rows + rows[:10]))
    add("rows-duplicate-ids-different-data.csv", to_text(
        with_column(rows, 0, lambda i: f"{i % 20:04d}")))
    add("rows-ids-with-slash.csv", to_text(with_column(rows, 0, lambda i: f"a/{i}/b")))
    add("rows-ids-formulas.csv", to_text(with_column(
        rows, 0, lambda i: ["=cmd|'/c calc'!A0", "+1", "-x", "@SUM(1)", "\tx"][i % 5] + str(i))))
    add("rows-missing-ids.csv", to_text(with_column(rows, 0, lambda i: "" if i % 4 == 0 else
                                                    rows[i][0])))
    add("rows-all-missing-row.csv", text + ",,,,\n" * 3)
    add("rows-500.csv", to_text(base_rows(500, seed=1)))
    # ---- huge fields
    add("huge-field-1mb.csv", text.replace("Male", "M" * (1 << 20), 1))
    add("huge-field-quoted-2mb.csv", text.replace("Male", '"' + "x," * (1 << 20) + '"', 1))
    add("huge-header-field.csv", text.replace("Gender", "G" * (1 << 20), 1))
    add("huge-line-many-fields.csv", text + ",".join(["1"] * 100_000) + "\n")
    # ---- binary and not-a-table
    rng = random.Random(7)
    add("bin-random.csv", bytes(rng.randrange(256) for _ in range(4096)))
    add("bin-nul-bytes.csv", b"\x00" * 1000)
    add("bin-nul-inside-text.csv", text.encode().replace(b"Male", b"Ma\x00le", 4))
    add("bin-png-as-csv.csv", b"\x89PNG\r\n\x1a\n" + bytes(rng.randrange(256) for _ in range(500)))
    add("bin-zip-as-csv.csv", _zip_bytes({"a.csv": text}))
    add("bin-gzip-as-csv.csv", _gzip_bytes(text.encode()))
    add("bin-pdf-as-csv.csv", b"%PDF-1.4\n%\xe2\xe3\xcf\xd3\n1 0 obj\n<<>>\nendobj\n")
    add("bin-elf-as-csv.csv", b"\x7fELF\x02\x01\x01" + bytes(500))
    add("bin-html-page.csv", "<!doctype html><html><body><table><tr><td>1</td></tr></table>"
        "</body></html>\n")
    add("bin-json-array.csv", json.dumps([dict(zip(HEADER, r, strict=True)) for r in rows]))
    # ---- empty
    add("empty.csv", b"")
    add("empty-whitespace.csv", "   \n\t\n  ")
    add("empty-newlines.csv", "\n" * 50)
    add("empty-bom-only.csv", b"\xef\xbb\xbf")
    add("empty-delimiters-only.csv", ",,,,\n" * 10)
    # ---- truncated
    add("trunc-mid-line.csv", text[: len(text) // 2 + 3])
    add("trunc-mid-quote.csv", to_text(with_column(rows, 1, lambda i: "a, b"),
                                       quoting=csv.QUOTE_ALL)[:-30])
    add("trunc-mid-utf8-char.csv", accented.encode()[: accented.encode().index("é".encode())
                                                     + 1])
    add("trunc-utf16-odd-bytes.csv", accented.encode("utf-16")[:-1])
    # ---- other formats
    add("fmt-xls-extension.xls", text)
    add("fmt-fake.xlsx", text)
    add("fmt-corrupt.xlsx", b"PK\x03\x04" + bytes(300))
    add("fmt-fake.parquet", text)
    add("fmt-corrupt.parquet", b"PAR1" + bytes(300) + b"PAR1")
    add("fmt-empty.parquet", b"")
    add("fmt-jsonl-ok.jsonl", "".join(json.dumps(dict(zip(HEADER, r, strict=True))) + "\n"
                                      for r in rows))
    add("fmt-jsonl-malformed.jsonl", "".join(
        (json.dumps(dict(zip(HEADER, r, strict=True))) if i % 5 else "{bad json") + "\n"
        for i, r in enumerate(rows)))
    add("fmt-jsonl-nested.jsonl", "".join(json.dumps({"CustomerID": r[0], "Income": {"v": 1},
                                                      "Spend": [1, 2]}) + "\n" for r in rows))
    add("fmt-jsonl-mixed-keys.jsonl", "".join(
        json.dumps({HEADER[j]: r[j] for j in range(5) if (i + j) % 4}) + "\n"
        for i, r in enumerate(rows)))
    add("fmt-jsonl-not-objects.jsonl", "".join(f"{i}\n" for i in range(ROWS)))
    add("fmt-jsonl-empty-lines.jsonl", "\n\n\n")
    add("fmt-jsonl-nan.jsonl", "".join(
        json.dumps({"CustomerID": r[0], "Age": float("nan") if i == 2 else 30,
                    "Income": float("inf") if i == 3 else int(r[3]), "Spend": int(r[4])})
        + "\n" for i, r in enumerate(rows)))
    add("fmt-json-suffix.json", text)
    add("fmt-txt-suffix.txt", text)
    add("fmt-no-suffix", text)
    add("fmt-uppercase-suffix.CSV", text)
    add("fmt-dat-semicolon.dat", to_text(rows, delimiter=";"))
    return out


def binary_cases(rows: list[list[str]] | None = None) -> dict[str, bytes]:
    """Cases only a library writes: Parquet and Excel files, good and bad."""
    import openpyxl
    import pyarrow as pa
    import pyarrow.parquet as pq

    rows = rows or base_rows()
    out: dict[str, bytes] = {}

    def parquet(table: pa.Table) -> bytes:
        buf = pa.BufferOutputStream()
        pq.write_table(table, buf, compression="none")
        return buf.getvalue().to_pybytes()

    def typed(names: list[str]) -> pa.Table:
        cols = [pa.array([r[0] for r in rows]), pa.array([r[1] for r in rows]),
                pa.array([int(r[2]) for r in rows]), pa.array([float(r[3]) for r in rows]),
                pa.array([float(r[4]) for r in rows])]
        return pa.Table.from_arrays(cols, names=names)

    out["pq-ok.parquet"] = parquet(typed(HEADER))
    out["pq-duplicate-names.parquet"] = parquet(typed(["CustomerID", "Gender", "Age", "Income",
                                                       "Age"]))
    inf = typed(HEADER).set_column(3, "Income", pa.array(
        [float("inf") if i == 2 else float(r[3]) for i, r in enumerate(rows)]))
    out["pq-inf.parquet"] = parquet(inf)
    nan = typed(HEADER).set_column(3, "Income", pa.array([float("nan")] * len(rows)))
    out["pq-all-nan.parquet"] = parquet(nan)
    out["pq-zero-rows.parquet"] = parquet(typed(HEADER).slice(0, 0))
    out["pq-bool-column.parquet"] = parquet(typed(HEADER).set_column(
        4, "Spend", pa.array([i % 2 == 0 for i in range(len(rows))])))
    out["pq-nested.parquet"] = parquet(typed(HEADER).set_column(
        4, "Spend", pa.array([[1, 2]] * len(rows))))
    out["pq-decimal.parquet"] = parquet(typed(HEADER).set_column(
        3, "Income", pa.array([int(r[3]) for r in rows], pa.int64()).cast(pa.decimal128(22, 2))))
    out["pq-timestamp.parquet"] = parquet(typed(HEADER).set_column(
        2, "Age", pa.array([1_600_000_000_000 + i for i in range(len(rows))],
                           pa.timestamp("ms"))))
    out["pq-no-columns.parquet"] = parquet(pa.table({}))

    def xlsx(sheets: dict[str, list[list[object]]]) -> bytes:
        wb = openpyxl.Workbook()
        wb.remove(wb.active)
        for title, cells in sheets.items():
            ws = wb.create_sheet(title)
            for r in cells:
                ws.append(r)
        buf = io.BytesIO()
        wb.save(buf)
        return _fixed_zip(buf.getvalue())

    table = [HEADER] + [[r[0], r[1], int(r[2]), float(r[3]), float(r[4])] for r in rows]
    out["xl-ok.xlsx"] = xlsx({"customers": table})
    out["xl-empty-sheet.xlsx"] = xlsx({"empty": []})
    out["xl-header-only.xlsx"] = xlsx({"h": [HEADER]})
    out["xl-duplicate-names.xlsx"] = xlsx({"d": [["CustomerID", "Gender", "Age", "Income",
                                                  "Age"], *table[1:]]})
    out["xl-formulas.xlsx"] = xlsx({"f": [HEADER] + [[r[0], "=1+1", int(r[2]), "=A1*2",
                                                       float(r[4])] for r in rows]})
    out["xl-title-rows-above.xlsx"] = xlsx({"t": [["Customer report 2024"], [], *table]})
    out["xl-errors.xlsx"] = xlsx({"e": [HEADER] + [[r[0], r[1], "#DIV/0!", float(r[3]),
                                                     float(r[4])] for r in rows]})
    return out


def _fixed_zip(data: bytes) -> bytes:
    """The zip archive rewritten with fixed timestamps (byte-identical on every run)."""
    src = zipfile.ZipFile(io.BytesIO(data))
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED) as dst:
        for item in sorted(src.infolist(), key=lambda i: i.filename):
            info = zipfile.ZipInfo(item.filename, date_time=(1980, 1, 1, 0, 0, 0))
            info.compress_type = zipfile.ZIP_DEFLATED
            dst.writestr(info, src.read(item.filename))
    return buf.getvalue()


def _zip_bytes(files: dict[str, str]) -> bytes:
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as z:
        for name, body in files.items():
            z.writestr(zipfile.ZipInfo(name, date_time=(1980, 1, 1, 0, 0, 0)), body)
    return buf.getvalue()


def _gzip_bytes(data: bytes) -> bytes:
    import gzip

    return gzip.compress(data, mtime=0)


def all_cases() -> dict[str, bytes]:
    return {**cases(), **binary_cases()}


TX_HEADER = ["customer_id", "trans_date", "tran_amount"]


def transaction_cases() -> dict[str, bytes]:
    """Transaction logs (``custseg features``, ``segment --transactions``): one purchase a
    line, 60 customers over two years, each case with one thing wrong."""
    rng = random.Random(3)
    lines = []
    for _ in range(600):
        cust = f"C{rng.randrange(60):03d}"
        day = rng.randrange(1, 28)
        month = rng.randrange(1, 13)
        year = rng.choice([2023, 2024])
        lines.append([cust, f"{month}/{day}/{year}", str(rng.randrange(5, 200))])
    text = to_text(lines, header=TX_HEADER)
    col = with_column
    out = {
        "tx-ok.csv": text,
        "tx-semicolon.csv": to_text(lines, header=TX_HEADER, delimiter=";"),
        "tx-crlf.csv": to_text(lines, header=TX_HEADER, end="\r\n"),
        "tx-cr.csv": to_text(lines, header=TX_HEADER, end="\r"),
        "tx-stray-cr.csv": text.replace(",", ",\r", 7),
        "tx-trailing-delimiter.csv": "".join(ln + ",\n" for ln in text.splitlines()),
        "tx-duplicate-columns.csv": text.replace("tran_amount", "trans_date", 1),
        "tx-missing-amount-column.csv": to_text([r[:2] for r in lines], header=TX_HEADER[:2]),
        "tx-header-only.csv": ",".join(TX_HEADER) + "\n",
        "tx-empty.csv": "",
        "tx-binary.csv": bytes(rng.randrange(256) for _ in range(2048)),
        "tx-bad-dates.csv": to_text(col(lines, 1, lambda i: "31/31/2099" if i % 2 else
                                        lines[i][1]), header=TX_HEADER),
        "tx-all-bad-dates.csv": to_text(col(lines, 1, lambda i: "someday"), header=TX_HEADER),
        "tx-future-date.csv": to_text(col(lines, 1, lambda i: "3/15/2999" if i == 5 else
                                          lines[i][1]), header=TX_HEADER),
        "tx-iso-dates.csv": to_text(col(lines, 1, lambda i: f"2024-{i % 12 + 1:02d}-"
                                        f"{i % 27 + 1:02d}"), header=TX_HEADER),
        "tx-datetimes-tz.csv": to_text(col(lines, 1, lambda i: f"2024-01-{i % 27 + 1:02d}T10:"
                                           "00:00+05:00"), header=TX_HEADER),
        "tx-negative-amounts.csv": to_text(col(lines, 2, lambda i: f"-{lines[i][2]}"),
                                           header=TX_HEADER),
        "tx-some-returns.csv": to_text(col(lines, 2, lambda i: f"-{lines[i][2]}" if i % 9 == 0
                                           else lines[i][2]), header=TX_HEADER),
        "tx-nan-amounts.csv": to_text(col(lines, 2, lambda i: "nan"), header=TX_HEADER),
        "tx-inf-amount.csv": to_text(col(lines, 2, lambda i: "inf" if i == 3 else lines[i][2]),
                                     header=TX_HEADER),
        "tx-huge-amount.csv": to_text(col(lines, 2, lambda i: "1e308" if i == 3 else
                                          lines[i][2]), header=TX_HEADER),
        "tx-currency-amounts.csv": to_text(col(lines, 2, lambda i: f"${lines[i][2]}.00"),
                                           header=TX_HEADER),
        "tx-formula-ids.csv": to_text(col(lines, 0, lambda i: "=cmd()" + lines[i][0]),
                                      header=TX_HEADER),
        "tx-ids-with-slash.csv": to_text(col(lines, 0, lambda i: lines[i][0] + "/x"),
                                         header=TX_HEADER),
        "tx-missing-ids.csv": to_text(col(lines, 0, lambda i: "" if i % 3 == 0 else
                                          lines[i][0]), header=TX_HEADER),
        "tx-one-customer.csv": to_text(col(lines, 0, lambda i: "C000"), header=TX_HEADER),
        "tx-one-line.csv": to_text(lines[:1], header=TX_HEADER),
        "tx-duplicate-lines.csv": to_text(lines + lines[:50], header=TX_HEADER),
        "tx-utf16.csv": text.encode("utf-16"),
        "tx-latin1-ids.csv": to_text(col(lines, 0, lambda i: "Zoë" + lines[i][0]),
                                     header=TX_HEADER).encode("latin-1"),
        "tx-truncated.csv": text[: len(text) // 2 + 5],
        "tx-unclosed-quote.csv": text.replace("C0", '"C0', 1),
    }
    return {k: v.encode() if isinstance(v, str) else v for k, v in out.items()}


def tamper_bundles(good: Path, dest: Path) -> dict[str, Path]:
    """Broken copies of the model bundle folder ``good`` under ``dest``: name -> folder."""
    made: dict[str, Path] = {}

    def copy(name: str) -> Path:
        folder = dest / name
        shutil.copytree(good, folder)
        made[name] = folder
        return folder

    def edit_meta(name: str, change: Callable[[dict], object]) -> None:
        folder = copy(name)
        meta = json.loads((folder / "bundle.json").read_text("utf-8"))
        change(meta)
        (folder / "bundle.json").write_text(json.dumps(meta), "utf-8")

    def set_key(key: str, value: object) -> Callable[[dict], object]:
        return lambda m: m.__setitem__(key, value)

    copy("bundle-missing-json").joinpath("bundle.json").unlink()
    copy("bundle-missing-skops").joinpath("model.skops").unlink()
    copy("bundle-empty-json").joinpath("bundle.json").write_text("")
    copy("bundle-json-not-object").joinpath("bundle.json").write_text("[1, 2, 3]")
    copy("bundle-json-garbage").joinpath("bundle.json").write_bytes(b"\xff\xfe{garbage")
    copy("bundle-skops-garbage").joinpath("model.skops").write_bytes(b"PK\x03\x04garbage")
    copy("bundle-skops-empty").joinpath("model.skops").write_bytes(b"")
    folder = copy("bundle-skops-flipped-byte")
    data = bytearray((folder / "model.skops").read_bytes())
    data[len(data) // 2] ^= 0xFF
    (folder / "model.skops").write_bytes(bytes(data))
    edit_meta("bundle-format-version-true", set_key("format_version", True))
    edit_meta("bundle-format-version-99", set_key("format_version", 99))
    edit_meta("bundle-format-version-string", set_key("format_version", "1"))
    edit_meta("bundle-model-file-dotdot", set_key("model_file", "../../etc/passwd"))
    edit_meta("bundle-model-file-absolute", set_key("model_file", "/etc/passwd"))
    edit_meta("bundle-sha-wrong", set_key("model_sha256", "0" * 64))
    edit_meta("bundle-features-missing", lambda m: m.pop("features", None))
    edit_meta("bundle-huge-size", set_key("model_size", 10 ** 18))
    edit_meta("bundle-wrong-format-name", set_key("format", "something-else"))
    folder = copy("bundle-skops-symlink-devzero")
    (folder / "model.skops").unlink()
    (folder / "model.skops").symlink_to("/dev/zero")
    folder = copy("bundle-skops-is-folder")
    (folder / "model.skops").unlink()
    (folder / "model.skops").mkdir()
    return made


def write(dest: Path = CASES) -> list[Path]:
    """Write every case into ``dest`` (replacing what is there); returns the files."""
    if dest.exists():
        shutil.rmtree(dest)
    dest.mkdir(parents=True)
    written = []
    for name, data in sorted({**all_cases(), **transaction_cases()}.items()):
        path = dest / name
        path.write_bytes(data)
        written.append(path)
    return written


if __name__ == "__main__":
    files = write(Path(sys.argv[1]) if len(sys.argv) > 1 else CASES)
    print(f"wrote {len(files)} cases, {sum(p.stat().st_size for p in files):,} bytes")
