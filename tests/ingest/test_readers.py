"""Sources: CSV dialects and encodings, Parquet, JSON Lines, Arrow; files that cannot be read."""

from __future__ import annotations

import json

import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from sqlalchemy import select

from accord.core.store.models import EventRow
from accord.errors import InvalidInput, NotFound, Unreadable

from .helpers import contract_with

NAMES = ["Zoë", "Siân", "O’Brien"]  # non-ASCII, and a cp1252 curly apostrophe


def csv_text(delimiter: str = ",") -> str:
    rows = [["pupil_id", "name", "age"]] + [[f"P{i}", n, str(i)] for i, n in enumerate(NAMES, 1)]
    return "\r\n".join(delimiter.join(r) for r in rows) + "\r\n"


def stored_names(trust, ref) -> list[str]:
    return [r["name"] for r in trust.ingest.read_version(ref).to_pylist()]


@pytest.mark.parametrize(
    ("delimiter", "encoding"),
    [
        (",", "utf-8"),
        (";", "utf-8"),
        ("\t", "utf-8"),
        ("|", "utf-8"),
        (",", "utf-8-sig"),
        (";", "cp1252"),
        (",", "utf-16"),
        ("\t", "utf-16-le"),
    ],
    ids=["comma", "semicolon", "tab", "pipe", "utf8-bom", "cp1252", "utf16-bom", "utf16-no-bom"],
)
def test_csv_dialects_and_encodings_are_read(sqlite_trust, delimiter, encoding, tmp_path) -> None:
    sqlite_trust.catalogue.add_member("camden", "Camden")
    ref = sqlite_trust.catalogue.register_dataset(contract_with()).ref
    path = tmp_path / "pupils.csv"
    path.write_bytes(csv_text(delimiter).encode(encoding))
    result = sqlite_trust.ingest.ingest(ref, path)
    assert (result.rows_read, result.rows_quarantined) == (3, 0)
    assert result.delimiter == delimiter
    assert stored_names(sqlite_trust, ref) == NAMES


def test_latin1_file_is_read(sqlite_trust, tmp_path) -> None:
    sqlite_trust.catalogue.add_member("camden", "Camden")
    ref = sqlite_trust.catalogue.register_dataset(contract_with()).ref
    path = tmp_path / "pupils.csv"
    path.write_bytes("pupil_id,name,age\nP1,Zoë £5,1\nP2,Siân,2\n".encode("latin-1"))
    sqlite_trust.ingest.ingest(ref, path)
    assert stored_names(sqlite_trust, ref) == ["Zoë £5", "Siân"]


def test_quoted_newlines_and_quotes_stay_in_one_value(trust, dataset, write) -> None:
    ref = dataset()
    path = write('pupil_id,name,age\nP1,"Flat 2\n1 High St, ""The Old Mill""",1\nP2,Bob,2\n')
    result = trust.ingest.ingest(ref, path)
    assert result.rows_read == 2
    assert stored_names(trust, ref)[0] == 'Flat 2\n1 High St, "The Old Mill"'


def test_row_numbers_count_records_not_lines(trust, dataset, write) -> None:
    ref = dataset()
    trust.ingest.ingest(ref, write('pupil_id,name,age\nP1,"two\nlines",1\nP2,Bob,old\n'))
    assert trust.ingest.quarantine(ref).to_pylist()[0]["row_number"] == 2


def test_header_names_match_ignoring_case_and_spaces(trust, dataset, write) -> None:
    ref = dataset()
    result = trust.ingest.ingest(ref, write("Pupil ID,NAME,Age,extra\nP1,Ann,1,secret\n"))
    assert result.rows_accepted == 1
    assert result.ignored_columns == ["extra"]
    assert trust.ingest.read_version(ref).column_names == ["pupil_id", "name", "age"]


def test_parquet_input_keeps_native_types(trust, dataset, tmp_path) -> None:
    ref = dataset(contract_with({"name": "born", "type": "date", "format": "%d/%m/%Y"}))
    import datetime as dt

    table = pa.table(
        {
            "pupil_id": ["P1", "P2"],
            "name": ["Ann", "Bob"],
            "age": [7, None],
            "born": [dt.date(2018, 1, 2), dt.date(2017, 3, 4)],
        }
    )
    pq.write_table(table, tmp_path / "pupils.parquet")
    result = trust.ingest.ingest(ref, tmp_path / "pupils.parquet")
    assert (result.format, result.rows_accepted) == ("parquet", 2)
    assert trust.ingest.read_version(ref).to_pylist()[0]["born"] == dt.date(2018, 1, 2)


def test_jsonl_input_is_read_and_checked(trust, dataset, tmp_path) -> None:
    ref = dataset()
    records = [{"pupil_id": "P1", "name": "Ann", "age": 7}, {"pupil_id": "P2", "age": "old"}]
    path = tmp_path / "pupils.jsonl"
    path.write_text("\n".join(json.dumps(r) for r in records) + "\n")
    result = trust.ingest.ingest(ref, path)
    assert (result.format, result.rows_accepted, result.rows_quarantined) == ("jsonl", 1, 1)
    assert trust.ingest.quarantine(ref).to_pylist()[0]["field"] == "age"


def test_an_arrow_table_is_a_batch_like_any_file(trust, dataset) -> None:
    ref = dataset()
    table = pa.table({"pupil_id": ["P1"], "name": ["Ann"], "age": ["7"]})
    result = trust.ingest.ingest(ref, table)
    assert (result.source, result.row_count) == ("arrow table", 1)


# -- files that cannot be read -------------------------------------------------------------------


def refusals(trust) -> list[str]:
    with trust.store.sessions() as session:
        rows = session.scalars(select(EventRow).where(EventRow.kind == "dataset.ingest-refused"))
        return [json.loads(r.payload)["reason"] for r in rows]


def test_a_missing_file_is_refused_and_recorded(trust, dataset, tmp_path) -> None:
    ref = dataset()
    with pytest.raises(Unreadable, match="There is no file at"):
        trust.ingest.ingest(ref, tmp_path / "nowhere.csv")
    assert trust.catalogue.versions(ref) == []
    assert len(refusals(trust)) == 1


def test_binary_garbage_is_refused(trust, dataset, tmp_path) -> None:
    ref = dataset()
    path = tmp_path / "pupils.csv"
    path.write_bytes(bytes(range(256)) * 64)
    with pytest.raises(Unreadable, match="binary"):
        trust.ingest.ingest(ref, path)
    assert trust.catalogue.versions(ref) == []


def test_a_spreadsheet_is_refused_with_advice(trust, dataset, tmp_path) -> None:
    ref = dataset()
    path = tmp_path / "pupils.xlsx"
    path.write_bytes(b"PK\x03\x04" + b"\x00" * 100)
    with pytest.raises(Unreadable, match="save it as CSV"):
        trust.ingest.ingest(ref, path)


def test_a_file_lacking_a_required_column_says_which(trust, dataset, write) -> None:
    ref = dataset()
    with pytest.raises(InvalidInput, match="lacks required column\\(s\\) pupil_id") as caught:
        trust.ingest.ingest(ref, write("pupil,name,age\nP1,Ann,1\n"))
    assert any("'pupil'" in d and "misspelt" in d for d in caught.value.details)
    assert trust.catalogue.versions(ref) == []


def test_a_file_with_none_of_the_contracts_columns_is_refused(trust, dataset, write) -> None:
    ref = dataset(contract_with(primary_key=None) | {})
    contract = trust.catalogue.contract(ref)
    assert not contract.primary_key
    with pytest.raises(InvalidInput, match="None of the columns"):
        trust.ingest.ingest(ref, write("a,b\n1,2\n"))


def test_a_missing_optional_column_is_reported_and_left_empty(trust, dataset, write) -> None:
    ref = dataset()
    result = trust.ingest.ingest(ref, write("pupil_id,name\nP1,Ann\n"))
    assert result.missing_columns == ["age"]
    assert trust.ingest.read_version(ref).to_pylist() == [
        {"pupil_id": "P1", "name": "Ann", "age": None}
    ]


def test_a_ragged_csv_is_refused_and_changes_nothing(trust, dataset, write) -> None:
    ref = dataset()
    trust.ingest.ingest(ref, write("pupil_id,name,age\nP1,Ann,1\n"))
    with pytest.raises(Unreadable, match="could not be read as CSV"):
        trust.ingest.ingest(ref, write("pupil_id,name,age\nP1,Ann,1,9,9\n", name="bad.csv"))
    assert [v.number for v in trust.catalogue.versions(ref)] == [1]
    assert stored_names(trust, ref) == ["Ann"]


def test_a_header_only_file_is_refused(trust, dataset, write) -> None:
    ref = dataset()
    with pytest.raises(InvalidInput, match="no data rows"):
        trust.ingest.ingest(ref, write("pupil_id,name,age\n"))


def test_a_file_with_no_good_row_is_refused_with_the_main_problems(trust, dataset, write) -> None:
    ref = dataset()
    with pytest.raises(InvalidInput, match="None of the 2 rows") as caught:
        trust.ingest.ingest(ref, write("pupil_id,name,age\nP1,Ann,x\nP2,Bob,y\n"))
    assert caught.value.details == ["age: not a whole number (2 rows)"]
    assert trust.catalogue.versions(ref) == []


def test_an_unknown_dataset_is_not_found(trust, dataset, write) -> None:
    dataset()
    with pytest.raises(NotFound, match="accord dataset register"):
        trust.ingest.ingest("camden/nothing", write("a\n1\n"))
