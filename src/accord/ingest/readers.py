"""Open a source for checking: CSV (any common encoding and delimiter), Parquet, JSON Lines, or
an Arrow table already in memory. Nothing is copied here: each reader gives the DuckDB relation
(a table function over the file) that checking reads once, in a single pass.

CSV is read with every column as text, so that the contract, not a guess, decides each type.
UTF-8 (with or without a BOM) and UTF-16 with a BOM are read by DuckDB directly; other
encodings (Windows-1252 / Latin-1 from spreadsheets, BOM-less UTF-16) are transcoded to UTF-8 in
a streaming way into the ingest's working folder inside the trust home.
"""

from __future__ import annotations

import codecs
import csv
import difflib
import io
import json
import re
from dataclasses import dataclass, field
from pathlib import Path

import duckdb
import pyarrow as pa

from accord.catalogue.contract import Contract
from accord.core.engine.sql import lit
from accord.errors import InvalidInput, Unreadable
from accord.ingest.progress import Progress
from accord.ingest.validate import SourceColumn

HEAD_BYTES = 256 * 1024
DELIMITERS = [",", ";", "\t", "|"]
JSON_SUFFIXES = {".jsonl", ".ndjson", ".json"}
PARQUET_MAGIC = b"PAR1"
_CHUNK = 4 * 1024 * 1024
# DuckDB's CSV buffer. Measured on 1,000,000 rows x 12 columns (DuckDB 2.0): 12-24 MB buffers
# cost ~0.25 s less CPU in the checking pass than the default, with the work still shared
# evenly between two threads (larger buffers left one thread with most of it).
CSV_BUFFER_BYTES = 16 * 1024 * 1024


@dataclass
class Loaded:
    """What is read: the format and dialect, the source's columns, and the DuckDB relation that
    reads it (``relation``; ``kind`` names the format in messages)."""

    name: str
    format: str
    columns: list[SourceColumn]
    encoding: str | None = None
    delimiter: str | None = None
    relation: str = ""
    kind: str = ""


@dataclass
class ColumnMatch:
    """How the contract's fields map onto the source's columns."""

    mapping: dict[str, SourceColumn | None]
    missing_optional: list[str] = field(default_factory=list)
    ignored: list[str] = field(default_factory=list)


def load(
    con: duckdb.DuckDBPyConnection,
    source: Path | str | pa.Table,
    contract: Contract,
    workdir: Path,
    progress: Progress,
) -> tuple[Loaded, ColumnMatch]:
    """Open ``source``: its columns matched to the contract's fields, and the relation that
    reads it (an Arrow table is registered on ``con`` as ``__arrow_source``)."""
    if isinstance(source, pa.Table):
        return _load_arrow(con, source, contract)
    path = Path(source)
    if not path.exists():
        raise Unreadable(f"There is no file at {path}")
    if not path.is_file():
        raise Unreadable(f"{path} is a folder, not a data file")
    with path.open("rb") as handle:
        head = handle.read(HEAD_BYTES)
    if not head.strip():
        raise Unreadable(f"{path.name} is empty: there is no header and no data")
    kind = detect_format(path, head)
    if kind == "parquet":
        return _load_parquet(con, path, contract)
    if kind == "jsonl":
        return _load_json(con, path, head, contract)
    return _load_csv(con, path, head, contract, workdir, progress)


def detect_format(path: Path, head: bytes) -> str:
    """``parquet``, ``jsonl`` or ``csv`` from the first bytes (and the name as a hint)."""
    if head.startswith(PARQUET_MAGIC):
        return "parquet"
    if path.suffix.lower() == ".parquet":
        raise Unreadable(f"{path.name} is named .parquet but is not a Parquet file")
    if head.startswith(b"PK\x03\x04") or head.startswith(b"\xd0\xcf\x11\xe0"):
        raise Unreadable(
            f"{path.name} looks like a spreadsheet or an archive, not a data file: "
            "save it as CSV (UTF-8) and ingest that"
        )
    stripped = head.lstrip(b"\xef\xbb\xbf \t\r\n")
    if path.suffix.lower() in JSON_SUFFIXES or stripped.startswith((b"{", b"[")):
        return "jsonl"
    return "csv"


# -- CSV -----------------------------------------------------------------------------------------


def detect_encoding(head: bytes) -> str:
    """The text encoding of a CSV, from its BOM or its first bytes."""
    if head.startswith(codecs.BOM_UTF8):
        return "utf-8-sig"
    if head.startswith(codecs.BOM_UTF16_LE):
        return "utf-16"
    if head.startswith(codecs.BOM_UTF16_BE):
        return "utf-16-be-bom"
    sample = head[: len(head) - len(head) % 2]
    if sample:
        even_zero = sample[0::2].count(0) / (len(sample) / 2)
        odd_zero = sample[1::2].count(0) / (len(sample) / 2)
        if odd_zero > 0.3 and even_zero == 0:
            return "utf-16-le"
        if even_zero > 0.3 and odd_zero == 0:
            return "utf-16-be"
    if b"\x00" in head:
        raise Unreadable("the file holds binary data (NUL bytes), not text")
    try:
        codecs.getincrementaldecoder("utf-8")().decode(head, final=False)
        return "utf-8"
    except UnicodeDecodeError:
        pass
    return "cp1252"


def _cp1252_or_latin1(error: UnicodeError) -> tuple[str, int]:
    # The five bytes cp1252 leaves undefined are read as Latin-1 rather than refused.
    assert isinstance(error, UnicodeDecodeError)
    return error.object[error.start : error.end].decode("latin-1"), error.end


codecs.register_error("accord-cp1252", _cp1252_or_latin1)


def _python_codec(encoding: str) -> tuple[str, str]:
    return {
        "utf-8": ("utf-8", "strict"),
        "utf-8-sig": ("utf-8-sig", "strict"),
        "utf-16": ("utf-16", "strict"),
        "utf-16-be-bom": ("utf-16", "strict"),
        "utf-16-le": ("utf-16-le", "strict"),
        "utf-16-be": ("utf-16-be", "strict"),
        "cp1252": ("cp1252", "accord-cp1252"),
    }[encoding]


def transcode(path: Path, encoding: str, target: Path) -> Path:
    """Copy ``path`` to ``target`` as UTF-8, a few megabytes at a time."""
    codec, errors = _python_codec(encoding)
    decoder = codecs.getincrementaldecoder(codec)(errors=errors)
    try:
        with path.open("rb") as src, target.open("wb") as dst:
            while chunk := src.read(_CHUNK):
                dst.write(decoder.decode(chunk).encode("utf-8"))
            dst.write(decoder.decode(b"", final=True).encode("utf-8"))
    except UnicodeDecodeError as exc:
        raise Unreadable(
            f"{path.name} is not valid {encoding} text (byte {exc.start} of a chunk): "
            "save it again as CSV UTF-8"
        ) from exc
    return target


def _check_text(name: str, text: str) -> None:
    if not text:
        return
    controls = sum(1 for c in text if ord(c) < 32 and c not in "\t\r\n\f") + text.count("\x7f")
    if controls / len(text) > 0.01:
        raise Unreadable(f"{name} does not look like a text (CSV) file: it holds binary data")


def _decode_head(head: bytes, encoding: str) -> str:
    codec, errors = _python_codec(encoding)
    return codecs.getincrementaldecoder(codec)(errors=errors).decode(head, final=False)


def sniff_delimiter(head_text: str, contract: Contract) -> str:
    """The delimiter whose split of the header names most contract fields (then most cells)."""
    wanted = {_normal(f) for f in contract.field_names()}
    best, best_score = ",", (-1, -1)
    first_lines = head_text[: 64 * 1024]
    for delimiter in DELIMITERS:
        try:
            header = next(csv.reader(io.StringIO(first_lines), delimiter=delimiter), [])
        except csv.Error:
            continue
        score = (sum(1 for cell in header if _normal(cell) in wanted), len(header))
        if score > best_score:
            best, best_score = delimiter, score
    return best


def _load_csv(
    con: duckdb.DuckDBPyConnection,
    path: Path,
    head: bytes,
    contract: Contract,
    workdir: Path,
    progress: Progress,
) -> tuple[Loaded, ColumnMatch]:
    try:
        encoding = detect_encoding(head)
        head_text = _decode_head(head, encoding)
    except UnicodeDecodeError as exc:
        raise Unreadable(f"{path.name} is not readable text: {exc.reason}") from exc
    except Unreadable as exc:
        raise Unreadable(f"{path.name}: {exc.message}") from exc
    _check_text(path.name, head_text)
    delimiter = sniff_delimiter(head_text.lstrip("\ufeff"), contract)
    readable, duck_encoding = path, "utf-8"
    if encoding == "utf-16":
        duck_encoding = "utf-16"
    elif encoding not in ("utf-8", "utf-8-sig"):
        with progress.stage("transcoding", 0.0, 0.05):
            readable = transcode(path, encoding, workdir / "source.utf8.csv")
    reader = (
        f"read_csv({lit(readable)}, delim={lit(delimiter)}, quote='\"', escape='\"', "
        f"header=true, all_varchar=true, encoding={lit(duck_encoding)}, "
        f"normalize_names=false, null_padding=false, skip=0, buffer_size={CSV_BUFFER_BYTES})"
    )
    loaded = Loaded(path.name, "csv", [], encoding=encoding, delimiter=delimiter)
    return _describe(con, reader, loaded, contract, "CSV")


# -- Parquet, JSON Lines, Arrow ------------------------------------------------------------------


def _load_parquet(
    con: duckdb.DuckDBPyConnection, path: Path, contract: Contract
) -> tuple[Loaded, ColumnMatch]:
    reader = f"read_parquet({lit(path)})"
    return _describe(con, reader, Loaded(path.name, "parquet", []), contract, "Parquet")


def _json_keys(head: bytes, name: str) -> list[str]:
    text = head.decode("utf-8", errors="replace").lstrip("\ufeff")
    lines = text.splitlines()
    if len(head) == HEAD_BYTES and lines:
        lines = lines[:-1]  # the last line of the sample may be cut short
    keys: dict[str, None] = {}
    for number, line in enumerate(lines[:1000], start=1):
        if not line.strip():
            continue
        try:
            record = json.loads(line)
        except json.JSONDecodeError as exc:
            raise Unreadable(f"{name} line {number} is not valid JSON: {exc.msg}") from exc
        if not isinstance(record, dict):
            raise Unreadable(f"{name} line {number} is not a JSON object (one record a line)")
        keys.update(dict.fromkeys(record))
    return list(keys)


def _load_json(
    con: duckdb.DuckDBPyConnection, path: Path, head: bytes, contract: Contract
) -> tuple[Loaded, ColumnMatch]:
    stripped = head.lstrip(b"\xef\xbb\xbf \t\r\n")
    if stripped.startswith(b"["):
        keys, fmt = contract.field_names(), "array"
    else:
        keys, fmt = _json_keys(head, path.name), "newline_delimited"
    # Every key is read as text; keys that only appear after the sample still reach their field.
    wanted = dict.fromkeys([*keys, *contract.field_names()])
    columns = ", ".join(f"{lit(k)}: 'VARCHAR'" for k in wanted)
    reader = f"read_json({lit(path)}, format={lit(fmt)}, columns={{{columns}}})"
    present = [SourceColumn(k) for k in keys]
    match = match_columns(contract, present)
    # Fields absent from the sample are still read (by their exact name) rather than dropped.
    for name, column in list(match.mapping.items()):
        if column is None:
            match.mapping[name] = SourceColumn(name)
    match.missing_optional = []
    _check_required(contract, match, path.name)
    loaded = Loaded(path.name, "jsonl", present, relation=reader, kind="JSON Lines")
    return loaded, match


def _load_arrow(
    con: duckdb.DuckDBPyConnection, table: pa.Table, contract: Contract
) -> tuple[Loaded, ColumnMatch]:
    # Registered for the whole ingest: checking reads it; closing the connection releases it.
    con.register("__arrow_source", table)
    return _describe(con, "__arrow_source", Loaded("arrow table", "arrow", []), contract, "Arrow")


def _describe(
    con: duckdb.DuckDBPyConnection, reader: str, loaded: Loaded, contract: Contract, kind: str
) -> tuple[Loaded, ColumnMatch]:
    try:
        described = con.execute(f"DESCRIBE SELECT * FROM {reader}").fetchall()
    except duckdb.Error as exc:
        raise Unreadable(f"{loaded.name} could not be read as {kind}: {_short(exc)}") from exc
    loaded.columns = [SourceColumn(str(row[0]), str(row[1])) for row in described]
    match = match_columns(contract, loaded.columns)
    _check_required(contract, match, loaded.name)
    loaded.relation, loaded.kind = reader, kind
    return loaded, match


def unreadable(loaded: Loaded, error: Exception) -> Unreadable:
    """The refusal for a source DuckDB failed to read while checking it."""
    return Unreadable(f"{loaded.name} could not be read as {loaded.kind}: {_short(error)}")


# -- matching columns to fields ------------------------------------------------------------------


def _normal(name: str) -> str:
    return re.sub(r"[\s\-]+", "_", name.strip().lstrip("\ufeff").lower())


def match_columns(contract: Contract, columns: list[SourceColumn]) -> ColumnMatch:
    """Map each field to a column of the same name (ignoring case, spaces and hyphens)."""
    by_exact = {c.name: c for c in columns}
    by_normal: dict[str, SourceColumn] = {}
    for column in columns:
        by_normal.setdefault(_normal(column.name), column)
    mapping: dict[str, SourceColumn | None] = {}
    for name in contract.field_names():
        mapping[name] = by_exact.get(name) or by_normal.get(_normal(name))
    used = {c.name for c in mapping.values() if c is not None}
    return ColumnMatch(
        mapping=mapping,
        missing_optional=[
            n for n, c in mapping.items() if c is None and not _required(contract, n)
        ],
        ignored=[c.name for c in columns if c.name not in used],
    )


def _required(contract: Contract, name: str) -> bool:
    return contract.field(name).constraints.required or name in contract.primary_key


def _check_required(contract: Contract, match: ColumnMatch, source: str) -> None:
    if all(c is None for c in match.mapping.values()):
        raise InvalidInput(
            f"None of the columns of {source} is a field of {contract.ref} "
            f"(expected {', '.join(contract.field_names())}); is this the right file, "
            "and does it have a header row?",
            details=[f"columns in the file: {', '.join(match.ignored[:15]) or 'none'}"],
        )
    missing = [n for n, c in match.mapping.items() if c is None and _required(contract, n)]
    if not missing:
        return
    details = []
    for name in missing:
        close = difflib.get_close_matches(name, match.ignored, n=1, cutoff=0.6)
        hint = f" (the file has {close[0]!r}: misspelt?)" if close else ""
        details.append(f"required field {name!r} has no column{hint}")
    shown = ", ".join(match.ignored[:15]) or "none"
    details.append(f"columns in the file not in the contract: {shown}")
    raise InvalidInput(
        f"{source} lacks required column(s) {', '.join(missing)} of {contract.ref}; "
        "nothing was changed",
        details=details,
    )


def _short(exc: Exception) -> str:
    lines = [line for line in str(exc).splitlines() if line.strip()]
    return " ".join(lines[:3])[:600]
