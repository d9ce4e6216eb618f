"""Reading tables as they really come (custseg.io): delimiters, encodings, line endings,
typed formats, malformed lines, unreadable files; atomic output folders; list options."""

from __future__ import annotations

import json
from pathlib import Path

import pandas as pd
import pytest

from custseg.errors import (
    EXIT_DATA,
    EXIT_USAGE,
    CustsegError,
    InputFileError,
    OutputExistsError,
    UsageError,
)
from custseg.io import (
    atomic_output_dir,
    decode_text,
    detect_delimiter,
    parse_list_option,
    read_table,
)

HEADER = ["id", "name", "Montant £", "score"]
ROWS = [
    ["0001", "Zoé", "12.5", "39"],
    ["0002", "Bob", "15", "81"],
    ["0003", "Renée", "16.25", "6"],
    ["0042", "Ann", "17", "77"],
]


def _text(delimiter: str = ",", newline: str = "\n", final_newline: bool = True) -> str:
    lines = [delimiter.join(r) for r in [HEADER, *ROWS]]
    return newline.join(lines) + (newline if final_newline else "")


def _write(tmp_path: Path, data: str | bytes, name: str = "customers.csv") -> Path:
    path = tmp_path / name
    if isinstance(data, str):
        path.write_bytes(data.encode("utf-8"))
    else:
        path.write_bytes(data)
    return path


def _expected() -> pd.DataFrame:
    return pd.DataFrame(ROWS, columns=HEADER)


def _assert_table(df: pd.DataFrame) -> None:
    assert list(df.columns) == HEADER
    assert df.shape == (len(ROWS), len(HEADER))
    assert df.astype(str).values.tolist() == ROWS


def _assert_input_error(exc: BaseException) -> None:
    assert isinstance(exc, InputFileError)
    assert isinstance(exc, CustsegError)
    assert isinstance(exc, FileNotFoundError)
    assert exc.exit_code == EXIT_DATA == 3


# ------------------------------------------------------------------ delimiters


@pytest.mark.parametrize("delimiter", [",", ";", "\t", "|"], ids=["comma", "semicolon", "tab",
                                                                  "pipe"])
def test_read_table_detects_delimiter(tmp_path, delimiter):
    df, info = read_table(_write(tmp_path, _text(delimiter)))
    _assert_table(df)
    assert info.format == "csv"
    assert info.delimiter == delimiter
    assert info.n_rows == 4 and info.n_columns == 4
    assert info.problems == []


@pytest.mark.parametrize("delimiter", [",", ";", "\t", "|"])
def test_detect_delimiter(delimiter):
    assert detect_delimiter(_text(delimiter)) == delimiter


def test_detect_delimiter_semicolon_with_decimal_commas():
    text = "id;amount;score\n1;12,5;3,25\n2;7,75;1,5\n3;1,25;2\n"
    assert detect_delimiter(text) == ";"


def test_detect_delimiter_single_column_uses_preferred_or_comma():
    assert detect_delimiter("amount\n1\n2\n") == ","
    assert detect_delimiter("amount\n1\n2\n", preferred="\t") == "\t"


def test_tsv_file_read_with_tabs(tmp_path):
    df, info = read_table(_write(tmp_path, _text("\t"), "customers.tsv"))
    _assert_table(df)
    assert info.delimiter == "\t"


def test_explicit_delimiter_overrides_detection(tmp_path):
    # with ";" forced, the comma file is one column
    df, info = read_table(_write(tmp_path, _text(",")), delimiter=";")
    assert info.delimiter == ";"
    assert df.shape == (4, 1)


# ------------------------------------------------------------------ encodings

ENCODED = {
    "utf-8": (_text().encode("utf-8"), {"utf-8"}),
    "utf-8-bom": (b"\xef\xbb\xbf" + _text().encode("utf-8"), {"utf-8-sig"}),
    "cp1252": (_text().encode("cp1252"), {"cp1252"}),
    # latin-1 and cp1252 agree on "£" and "é"; either name decodes the text right
    "latin-1": (_text().encode("latin-1"), {"cp1252", "latin-1"}),
    "utf-16-bom": (_text().encode("utf-16"), {"utf-16"}),
    "utf-16-be-bom": (b"\xfe\xff" + _text().encode("utf-16-be"), {"utf-16"}),
}


@pytest.mark.parametrize("name", list(ENCODED))
def test_read_table_detects_encoding(tmp_path, name):
    raw, encodings = ENCODED[name]
    df, info = read_table(_write(tmp_path, raw))
    _assert_table(df)  # "£" in the header, "é" in the data, no BOM in the first name
    assert df.columns[0] == "id"
    assert info.encoding in encodings


@pytest.mark.parametrize("name", list(ENCODED))
def test_decode_text(name):
    raw, encodings = ENCODED[name]
    text, encoding = decode_text(raw)
    assert text == _text()
    assert encoding in encodings


def test_decode_text_falls_back_to_latin1_on_bytes_cp1252_lacks():
    # 0x81 is not a cp1252 character; latin-1 decodes every byte
    text, encoding = decode_text("café".encode("latin-1") + b"\x81")
    assert (text, encoding) == ("café\x81", "latin-1")


def test_explicit_encoding_that_does_not_fit_is_an_input_error(tmp_path):
    path = _write(tmp_path, _text().encode("cp1252"))
    with pytest.raises(InputFileError, match="cannot decode as utf-8") as err:
        read_table(path, encoding="utf-8")
    _assert_input_error(err.value)


# ------------------------------------------------------------------ line endings, quoting


@pytest.mark.parametrize("newline", ["\r\n", "\r"], ids=["crlf", "cr"])
def test_windows_and_old_mac_line_endings(tmp_path, newline):
    df, _ = read_table(_write(tmp_path, _text(newline=newline)))
    _assert_table(df)
    assert not any("\r" in v for v in df.to_numpy().ravel())


def test_no_final_newline(tmp_path):
    df, _ = read_table(_write(tmp_path, _text(final_newline=False)))
    _assert_table(df)


@pytest.mark.parametrize("delimiter", [",", ";"])
def test_quoted_fields_containing_the_delimiter(tmp_path, delimiter):
    d = delimiter
    text = (f"id{d}name{d}score\n"
            f'1{d}"Smith{d} John"{d}10\n'
            f'2{d}"Doe{d} Jane"{d}20\n'
            f'3{d}"O\'Hara{d} ""Kit"""{d}30\n')
    df, info = read_table(_write(tmp_path, text))
    assert info.delimiter == delimiter
    assert df["name"].tolist() == [f"Smith{d} John", f"Doe{d} Jane", f'O\'Hara{d} "Kit"']
    assert df["score"].tolist() == ["10", "20", "30"]
    assert info.problems == []


def test_quoted_field_with_a_newline(tmp_path):
    text = 'id,note,score\n1,"line one\nline two",10\n2,plain,20\n'
    df, _ = read_table(_write(tmp_path, text))
    assert df["note"].tolist() == ["line one\nline two", "plain"]
    assert df["score"].tolist() == ["10", "20"]


def test_unclosed_quote_is_an_input_error(tmp_path):
    path = _write(tmp_path, 'id,note\n1,"never closed\n2,b\n3,c\n')
    with pytest.raises(InputFileError, match="never closed") as err:
        read_table(path)
    _assert_input_error(err.value)


# ------------------------------------------------------------------ ids keep their zeros


def test_leading_zeros_of_ids_kept_from_csv(tmp_path):
    df, _ = read_table(_write(tmp_path, _text()))
    assert df["id"].tolist() == ["0001", "0002", "0003", "0042"]


def test_cells_are_read_as_written(tmp_path):
    # text files give text: no NA guessing, no number parsing (custseg.schema does that)
    text = "id,a,b\n007,NA,1e3\n008,,?\n"
    df, _ = read_table(_write(tmp_path, text))
    assert df.astype(object).where(df.notna(), None).values.tolist() == [
        ["007", "NA", "1e3"], ["008", "", "?"]]


def test_shared_mall_file_keeps_leading_zeros(mall_path):
    df, info = read_table(mall_path)
    assert df["CustomerID"].iloc[0] == "0001"
    assert info.n_rows == 200 and info.encoding == "utf-8"


# ------------------------------------------------------------------ trailing delimiter


def test_trailing_delimiter_on_every_line_is_dropped(tmp_path):
    text = "".join(f"{line},\n" for line in _text().splitlines())
    df, info = read_table(_write(tmp_path, text))
    _assert_table(df)
    assert not any(c.startswith("Unnamed") for c in df.columns)
    assert info.problems == []


def test_trailing_delimiter_on_data_lines_only_keeps_the_id_column(tmp_path):
    # pandas would take the first column as the index here and shift every value
    lines = _text().splitlines()
    text = lines[0] + "\n" + "".join(f"{line},\n" for line in lines[1:])
    df, info = read_table(_write(tmp_path, text))
    _assert_table(df)
    assert info.problems == []


def test_trailing_delimiter_in_header_only(tmp_path):
    lines = _text().splitlines()
    text = lines[0] + ",\n" + "\n".join(lines[1:]) + "\n"
    df, _ = read_table(_write(tmp_path, text))
    _assert_table(df)


def test_named_empty_column_is_kept(tmp_path):
    df, _ = read_table(_write(tmp_path, "id,x,notes\n1,2,\n3,4,\n"))
    assert list(df.columns) == ["id", "x", "notes"]


# ------------------------------------------------------------------ malformed lines


def _with_bad_lines(n_good: int, bad_after: list[int]) -> str:
    lines = ["id,amount,score"]
    for i in range(1, n_good + 1):
        lines.append(f"C{i},{i * 1.5},{i % 7}")
        if i in bad_after:
            lines.append(f"X{i},{i},oops,{i}")  # one field too many
    return "\n".join(lines) + "\n"


def test_few_malformed_lines_are_skipped_with_a_warning(tmp_path):
    # 2 malformed lines of 200: exactly 1%
    text = _with_bad_lines(198, [10, 150])
    df, info = read_table(_write(tmp_path, text))
    assert len(df) == 198
    assert not df["id"].str.startswith("X").any()
    assert list(df.columns) == ["id", "amount", "score"]
    (problem,) = info.problems
    assert problem.severity == "warning"
    assert problem.code == "malformed-line"
    # line numbers in the file, the header being line 1
    assert problem.rows == [12, 153]
    lines = text.splitlines()
    assert all(lines[ln - 1].startswith("X") for ln in problem.rows)
    assert "12" in problem.describe() and "153" in problem.describe()


def test_many_malformed_lines_are_an_input_error_naming_them(tmp_path):
    text = _with_bad_lines(197, [10, 20, 30])  # 3 of 200: 1.5%
    with pytest.raises(InputFileError, match=r"line 12 has 4, line 23 has 4, line 34 has 4"
                       ) as err:
        read_table(_write(tmp_path, text))
    _assert_input_error(err.value)
    assert "3 fields of the header" in str(err.value)


def test_one_malformed_line_in_a_small_file_is_more_than_one_percent(tmp_path):
    text = _with_bad_lines(20, [5])  # 1 of 21 lines: about 5%
    with pytest.raises(InputFileError, match="line 7 has 4"):
        read_table(_write(tmp_path, text))


def test_malformed_line_numbers_count_physical_lines(tmp_path):
    # a quoted newline makes a record two lines long: the bad line is line 5 of the file
    rows = [f'C{i},"a\nb",{i}' for i in range(1, 150)]
    text = "id,note,score\n" + "\n".join(rows[:1]) + "\nC0,x,1\nC9,x,1,9\n" + "\n".join(
        rows[1:]) + "\n"
    df, info = read_table(_write(tmp_path, text))
    assert len(df) == 150
    assert info.problems[0].rows == [5]


def test_data_lines_all_longer_than_header_are_refused(tmp_path):
    # every line has a value the header does not name: nothing to skip, the file is wrong
    text = "id,amount\n" + "".join(f"C{i},{i},{i * 2}\n" for i in range(1, 30))
    with pytest.raises(InputFileError, match="2 fields of the header"):
        read_table(_write(tmp_path, text))


# ------------------------------------------------------------------ typed formats


def _typed_frame() -> pd.DataFrame:
    return pd.DataFrame({"id": ["0001", "0002", "0003"], "Genre": ["Male", "Female", "Male"],
                         "Montant £": [12.5, 15.0, 16.25], "score": [39, 81, 6]})


def test_parquet(tmp_path):
    path = tmp_path / "customers.parquet"
    _typed_frame().to_parquet(path, engine="pyarrow", index=False)
    df, info = read_table(path)
    assert info.format == "parquet"
    assert info.encoding is None and info.delimiter is None
    pd.testing.assert_frame_equal(df, _typed_frame(), check_dtype=False)
    assert df["score"].dtype.kind == "i"
    assert df["id"].tolist() == ["0001", "0002", "0003"]


def test_xlsx(tmp_path):
    path = tmp_path / "customers.xlsx"
    _typed_frame().to_excel(path, index=False, engine="openpyxl")
    df, info = read_table(path)
    assert info.format == "excel"
    pd.testing.assert_frame_equal(df, _typed_frame(), check_dtype=False)


def test_xlsx_title_rows_above_the_header_are_skipped(tmp_path):
    """A sheet with a report title and a blank row above its header, and empty cells at the
    end of some rows: read from the header on, the title in a warning (the rule of delimited
    text, custseg.delimited.preamble_rows); a sheet without a title is read as it is."""
    import openpyxl

    path = tmp_path / "report.xlsx"
    book = openpyxl.Workbook()
    sheet = book.active
    sheet.append(["Customer report Q3 2026"])
    sheet.append([])
    sheet.append(["id", "spend", "visits", "note"])
    for i in range(30):
        sheet.append([f"C{i:02d}", 10.5 + i, i % 7] + (["vip"] if i % 4 == 0 else []))
    book.save(path)
    df, info = read_table(path)
    assert list(df.columns) == ["id", "spend", "visits", "note"] and len(df) == 30
    assert df["spend"].iloc[2] == 12.5
    warning = next(p for p in info.problems if p.code == "preamble")
    assert "Customer report Q3 2026" in warning.message
    plain = tmp_path / "plain.xlsx"
    df.to_excel(plain, index=False, engine="openpyxl")
    again, info = read_table(plain)
    assert list(again.columns) == list(df.columns) and len(again) == 30
    assert not [p for p in info.problems if p.code == "preamble"]


def test_xlsx_second_sheet(tmp_path):
    path = tmp_path / "book.xlsx"
    with pd.ExcelWriter(path, engine="openpyxl") as writer:
        pd.DataFrame({"other": [1]}).to_excel(writer, sheet_name="notes", index=False)
        _typed_frame().to_excel(writer, sheet_name="customers", index=False)
    by_name, _ = read_table(path, sheet="customers")
    by_index, _ = read_table(path, sheet=1)
    first, _ = read_table(path)
    pd.testing.assert_frame_equal(by_name, _typed_frame(), check_dtype=False)
    pd.testing.assert_frame_equal(by_index, by_name)
    assert list(first.columns) == ["other"]


def test_jsonl(tmp_path):
    path = tmp_path / "customers.jsonl"
    records = _typed_frame().to_dict(orient="records")
    path.write_text("\n".join(json.dumps(r, ensure_ascii=False) for r in records) + "\n",
                    encoding="utf-8")
    df, info = read_table(path)
    assert info.format == "jsonl"
    pd.testing.assert_frame_equal(df, _typed_frame(), check_dtype=False)
    assert df["id"].tolist() == ["0001", "0002", "0003"]


@pytest.mark.parametrize("name", ["broken.parquet", "broken.xlsx", "broken.jsonl"])
def test_corrupt_typed_file_is_an_input_error(tmp_path, name):
    path = _write(tmp_path, b"this is not what the ending says {", name)
    with pytest.raises(InputFileError, match="cannot be read as") as err:
        read_table(path)
    _assert_input_error(err.value)


def test_old_xls_is_refused_with_advice(tmp_path):
    with pytest.raises(InputFileError, match=r"\.xlsx or CSV"):
        read_table(_write(tmp_path, b"\xd0\xcf\x11\xe0", "old.xls"))


def test_typed_file_without_rows_is_an_input_error(tmp_path):
    path = tmp_path / "empty.parquet"
    _typed_frame().iloc[:0].to_parquet(path, index=False)
    with pytest.raises(InputFileError, match="no data rows"):
        read_table(path)


# ------------------------------------------------------------------ unreadable files


@pytest.mark.parametrize(
    ("content", "message"),
    [
        (b"", "empty"),
        (b"  \n\r\n\t\n", "empty"),
        (b"\xef\xbb\xbf", "no header and no data"),
        (b"id,amount,score\n", "header but no data rows"),
        (b"id,amount,score", "header but no data rows"),
        (b"id;amount;score\r\n\r\n", "header but no data rows"),
        ("id,amount\n".encode("utf-16"), "header but no data rows"),
    ],
    ids=["empty", "blank-lines", "bom-only", "header-only", "header-no-newline",
         "header-crlf-blank", "header-utf16"],
)
def test_empty_and_header_only_files(tmp_path, content, message):
    with pytest.raises(InputFileError, match=message) as err:
        read_table(_write(tmp_path, content))
    _assert_input_error(err.value)


def test_missing_file(tmp_path):
    path = tmp_path / "nowhere" / "customers.csv"
    with pytest.raises(InputFileError, match="no such file") as err:
        read_table(path)
    _assert_input_error(err.value)
    assert err.value.path == str(path)
    assert str(path) in str(err.value)


def test_folder_instead_of_file(tmp_path):
    with pytest.raises(InputFileError, match="is a folder") as err:
        read_table(tmp_path)
    _assert_input_error(err.value)


def test_input_error_caught_as_file_not_found(tmp_path):
    # ordinary code catching FileNotFoundError keeps working
    try:
        read_table(tmp_path / "missing.csv")
    except FileNotFoundError as exc:
        assert exc.exit_code == 3
    else:
        pytest.fail("no error for a missing file")


# ------------------------------------------------------------------ atomic_output_dir


def _leftovers(parent: Path, name: str) -> list[str]:
    return sorted(p.name for p in parent.iterdir() if p.name.startswith(f".{name}."))


def test_atomic_output_dir_creates_the_folder_at_the_end(tmp_path):
    out = tmp_path / "run"
    with atomic_output_dir(out) as tmp:
        assert tmp != out and tmp.parent == tmp_path
        assert not out.exists()  # nothing visible while writing
        (tmp / "a.txt").write_text("done")
        (tmp / "model").mkdir()
        (tmp / "model" / "m.bin").write_bytes(b"\0")
    assert sorted(p.name for p in out.iterdir()) == ["a.txt", "model"]
    assert (out / "a.txt").read_text() == "done"
    assert _leftovers(tmp_path, "run") == []


def test_atomic_output_dir_creates_missing_parents(tmp_path):
    out = tmp_path / "a" / "b" / "run"
    with atomic_output_dir(out) as tmp:
        (tmp / "x").write_text("1")
    assert (out / "x").read_text() == "1"


def test_atomic_output_dir_accepts_an_empty_existing_folder(tmp_path):
    out = tmp_path / "run"
    out.mkdir()
    with atomic_output_dir(out) as tmp:
        (tmp / "a.txt").write_text("new")
    assert [p.name for p in out.iterdir()] == ["a.txt"]


def test_atomic_output_dir_refuses_a_non_empty_folder_without_force(tmp_path):
    out = tmp_path / "run"
    out.mkdir()
    (out / "old.txt").write_text("keep me")
    entered = False
    with pytest.raises(OutputExistsError, match="`force=True`") as err, atomic_output_dir(out):
        entered = True
    assert not entered
    assert err.value.exit_code == EXIT_USAGE == 2
    assert isinstance(err.value, UsageError) and isinstance(err.value, FileExistsError)
    assert [p.name for p in out.iterdir()] == ["old.txt"]
    assert (out / "old.txt").read_text() == "keep me"
    assert _leftovers(tmp_path, "run") == []


def test_atomic_output_dir_refuses_a_file(tmp_path):
    out = tmp_path / "run"
    out.write_text("a file")
    with pytest.raises(OutputExistsError, match="is a file"), atomic_output_dir(out, force=True):
        pass
    assert out.read_text() == "a file"


def test_atomic_output_dir_replaces_with_force(tmp_path):
    out = tmp_path / "run"
    out.mkdir()
    (out / "old.txt").write_text("old")
    with atomic_output_dir(out, force=True) as tmp:
        (tmp / "new.txt").write_text("new")
        assert (out / "old.txt").exists()  # replaced only once the new one is complete
    assert [p.name for p in out.iterdir()] == ["new.txt"]
    assert _leftovers(tmp_path, "run") == []


@pytest.mark.parametrize("existing", [False, True], ids=["new", "existing-with-force"])
def test_atomic_output_dir_leaves_nothing_when_the_block_fails(tmp_path, existing):
    out = tmp_path / "run"
    if existing:
        out.mkdir()
        (out / "old.txt").write_text("old")
    with pytest.raises(RuntimeError, match="boom"), atomic_output_dir(out, force=True) as tmp:
        (tmp / "half.txt").write_text("half")
        (tmp / "sub").mkdir()
        (tmp / "sub" / "x").write_text("x")
        raise RuntimeError("boom")
    if existing:
        assert [p.name for p in out.iterdir()] == ["old.txt"]
    else:
        assert not out.exists()
    assert _leftovers(tmp_path, "run") == []
    assert sorted(p.name for p in tmp_path.iterdir()) == (["run"] if existing else [])


# ------------------------------------------------------------------ parse_list_option


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        (None, None),
        ("Age", ["Age"]),
        ("Annual Income (k$), Spending Score (1-100)",
         ["Annual Income (k$)", "Spending Score (1-100)"]),
        (" a ,b,, c ,", ["a", "b", "c"]),
        ("Montant £,Zoé's score", ["Montant £", "Zoé's score"]),
    ],
)
def test_parse_list_option(value, expected):
    assert parse_list_option(value, "--features") == expected


@pytest.mark.parametrize("value", ["", " ", ",", " , ,"])
def test_parse_list_option_refuses_an_empty_list(value):
    with pytest.raises(UsageError, match="--exclude is empty") as err:
        parse_list_option(value, "--exclude")
    assert err.value.exit_code == 2
    assert err.value.parameter == "--exclude"
