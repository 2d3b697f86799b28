"""Generate a synthetic population and every organisation's view of it, streamed in chunks."""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import polars as pl
import pyarrow as pa
import pyarrow.parquet as pq

from accord.synth.contracts import write_contract
from accord.synth.errors import ERROR_KINDS, ErrorProfile, get_profile, inject_errors
from accord.synth.extracts import ExtractSpec, all_extracts
from accord.synth.geography import BOROUGH_SLUGS, World, build_world
from accord.synth.invalid import inject_invalid
from accord.synth.keys import derive
from accord.synth.names import NameTables, load_names
from accord.synth.nhs import CAPACITY
from accord.synth.population import REFERENCE_DATE, TRUTH_COLUMNS, generate_people

DEFAULT_CHUNK = 250_000  # people per chunk: bounds memory; part of what a seed reproduces
FORMATS = ("parquet", "csv")
_ARROW_TYPES = {"string": pa.string(), "integer": pa.int64(), "boolean": pa.bool_()}
# Invalid rows draw from a stream of their own, so the other errors and the row order of a
# seed do not depend on the invalid-row rate.
_INVALID_STREAM = 0x1BAD


@dataclass(frozen=True)
class ExtractSummary:
    """What was written for one extract."""

    member: str
    dataset: str
    rows: int
    errors: dict[str, int]
    path: Path
    contract: Path
    ground_truth: Path

    @property
    def ref(self) -> str:
        """``member.dataset``."""
        return f"{self.member}.{self.dataset}"

    @property
    def errors_injected(self) -> int:
        """All injected errors added up."""
        return sum(self.errors.values())


@dataclass(frozen=True)
class PopulationSummary:
    """The result of :func:`generate_population`: counts and where everything was written."""

    people: int
    seed: int
    errors: str
    fmt: str
    out: Path
    people_path: Path
    manifest_path: Path
    extracts: dict[str, ExtractSummary] = field(default_factory=dict)

    @property
    def row_counts(self) -> dict[str, int]:
        """Rows per extract, keyed ``member.dataset``."""
        return {ref: e.rows for ref, e in self.extracts.items()}

    @property
    def error_counts(self) -> dict[str, dict[str, int]]:
        """Injected errors per extract and error kind."""
        return {ref: dict(e.errors) for ref, e in self.extracts.items()}


def _arrow_type(spec_type: str, has_values: bool) -> pa.DataType:
    # Dates keep the source's text convention, and Y/N-style flags their codes, in both formats.
    if spec_type == "boolean" and has_values:
        return pa.string()
    return _ARROW_TYPES.get(spec_type, pa.string())


def _extract_schema(spec: ExtractSpec) -> pa.Schema:
    return pa.schema(
        [pa.field(c.name, _arrow_type(c.type, bool(c.true_values))) for c in spec.columns]
    )


def _normalise(schema: pa.Schema) -> pa.Schema:
    fields = []
    for f in schema:
        kind = f.type
        if pa.types.is_large_string(kind) or pa.types.is_string_view(kind):
            kind = pa.string()
        fields.append(pa.field(f.name, kind))
    return pa.schema(fields)


class _Sink:
    """An output file that takes a chunk at a time (Parquet row groups or CSV rows)."""

    def __init__(self, path: Path, schema: pa.Schema | None, fmt: str = "parquet") -> None:
        path.parent.mkdir(parents=True, exist_ok=True)
        self.path = path
        self.fmt = fmt
        self.schema = schema
        self._parquet: pq.ParquetWriter | None = None
        self._csv = None
        if fmt == "csv":
            self._csv = path.open("wb")
            assert schema is not None
            pl.DataFrame(schema=schema.names).write_csv(self._csv)
        elif schema is not None:
            self._open(schema)

    def _open(self, schema: pa.Schema) -> None:
        self.schema = schema
        self._parquet = pq.ParquetWriter(self.path, schema, compression="zstd")

    def write(self, frame: pl.DataFrame) -> None:
        if self._csv is not None:
            if frame.height:
                frame.write_csv(self._csv, include_header=False)
            return
        table = frame.to_arrow()
        if self._parquet is None:
            self._open(_normalise(table.schema))
        assert self.schema is not None and self._parquet is not None
        if frame.height:
            self._parquet.write_table(table.cast(self.schema))

    def close(self) -> None:
        if self._csv is not None:
            self._csv.close()
        if self._parquet is not None:
            self._parquet.close()


@dataclass(frozen=True)
class _Context:
    seed: int
    profile: ErrorProfile
    world: World
    names: NameTables
    specs: tuple[ExtractSpec, ...]


@dataclass(frozen=True)
class _Chunk:
    people: pl.DataFrame
    extracts: list[pl.DataFrame]  # rendered, key column still empty where ids are made
    person_ids: list[pl.Series]  # true_person_id of each extract row
    invalid: list[pl.Series]  # the field made to break the contract, per row (null if none)
    errors: list[dict[str, int]]


def _context(seed: int, people: int, errors: str) -> _Context:
    return _Context(
        seed=seed,
        profile=get_profile(errors),
        world=build_world(np.random.default_rng([seed, 0x3057]), people),
        names=load_names(),
        specs=tuple(all_extracts()),
    )


def _make_chunk(ctx: _Context, chunk: int, start: int, count: int) -> _Chunk:
    truth = generate_people(ctx.world, ctx.names, ctx.seed, chunk, start, count)
    extracts, person_ids, invalid, errors = [], [], [], []
    for i, spec in enumerate(ctx.specs):
        rng = np.random.default_rng([ctx.seed, chunk, 1 + i])
        held = spec.select(truth, rng, ctx.seed)
        held, injected = inject_errors(
            held,
            ctx.profile,
            rng,
            ctx.names,
            kinds=spec.error_kinds,
            missable=spec.missable,
            address_columns=spec.address_columns,
        )
        rendered = spec.render(held.with_columns(_id=pl.lit(None, pl.String)))
        if "invalid" in injected:
            rendered, broken = inject_invalid(
                rendered,
                spec,
                ctx.profile.invalid,
                np.random.default_rng([ctx.seed, chunk, 1 + i, _INVALID_STREAM]),
            )
            injected["invalid"] = broken.len() - broken.null_count()
        else:
            broken = pl.Series("invalid_field", [None] * rendered.height, dtype=pl.String)
        # Shuffle so row order says nothing about households or the truth file.
        order = rng.permutation(held.height)
        extracts.append(rendered[order])
        person_ids.append(held["true_person_id"].gather(order))
        invalid.append(broken.gather(order))
        errors.append(injected)
    return _Chunk(truth.select(TRUTH_COLUMNS), extracts, person_ids, invalid, errors)


def _chunks(seed: int, people: int, errors: str, chunk_size: int) -> Iterator[_Chunk]:
    """Chunks in order; each depends only on its own number, so memory stays flat."""
    ctx = _context(seed, people, errors)
    for chunk, start in enumerate(range(0, people, chunk_size)):
        yield _make_chunk(ctx, chunk, start, min(chunk_size, people - start))


def generate_population(
    people: int,
    seed: int,
    out: Path | str,
    errors: str = "medium",
    fmt: str = "parquet",
    *,
    chunk_size: int = DEFAULT_CHUNK,
) -> PopulationSummary:
    """Generate ``people`` synthetic people and every organisation's extract of them.

    Writes under ``out``: ``people.parquet`` (the truth), ``extracts/<member>/<dataset>.<fmt>``,
    ``contracts/<member>/<dataset>.yaml``, ``ground_truth/<member>/<dataset>.parquet`` (the
    extract's key, the ``true_person_id`` behind each row and, for a row made to break the
    contract, the ``invalid_field``) and ``manifest.json``. The same
    seed and chunk size give byte-identical files.

    Args:
        people: how many people to make (at least 1).
        seed: the random seed.
        out: output folder (created if needed; files of the same names are replaced).
        errors: error profile name: ``none``, ``low``, ``medium`` or ``high``.
        fmt: ``parquet`` or ``csv`` for the extracts (truth files are always Parquet).
        chunk_size: people generated and written per chunk.
    """
    if people < 1:
        raise ValueError("people must be at least 1")
    if seed < 0:
        raise ValueError("seed must be zero or more")
    if people > CAPACITY:
        raise ValueError(f"people must be at most {CAPACITY:,}")
    if fmt not in FORMATS:
        raise ValueError(f"unknown format {fmt!r}: choose parquet or csv")
    if chunk_size < 1:
        raise ValueError("chunk_size must be at least 1")
    profile = get_profile(errors)
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    specs = all_extracts()

    people_sink = _Sink(out / "people.parquet", None)
    extract_sinks: dict[str, _Sink] = {}
    truth_sinks: dict[str, _Sink] = {}
    for spec in specs:
        for other in FORMATS:  # a previous run in the other format must not linger
            (out / "extracts" / spec.member / f"{spec.dataset}.{other}").unlink(missing_ok=True)
        path = out / "extracts" / spec.member / f"{spec.dataset}.{fmt}"
        extract_sinks[spec.ref] = _Sink(path, _extract_schema(spec), fmt)
        truth_schema = pa.schema(
            [
                (spec.primary_key, pa.string()),
                ("true_person_id", pa.string()),
                ("invalid_field", pa.string()),
            ]
        )
        truth_path = out / "ground_truth" / spec.member / f"{spec.dataset}.parquet"
        truth_sinks[spec.ref] = _Sink(truth_path, truth_schema)
        write_contract(spec, out / "contracts" / spec.member / f"{spec.dataset}.yaml")

    rows = dict.fromkeys(extract_sinks, 0)
    counts = {spec.ref: dict.fromkeys(sorted(spec.error_kinds), 0) for spec in specs}
    try:
        for part in _chunks(seed, people, errors, chunk_size):
            people_sink.write(part.people)
            for spec, extract, person_ids, broken, injected in zip(
                specs, part.extracts, part.person_ids, part.invalid, part.errors, strict=True
            ):
                if spec.make_ids is not None:
                    # Ids are made here, in row order across chunks, so they are dense and unique.
                    numbers = rows[spec.ref] + np.arange(extract.height)
                    ids = spec.make_ids(numbers, derive(seed, "ids", spec.ref))
                    extract = extract.with_columns(ids.alias(spec.primary_key))
                extract_sinks[spec.ref].write(extract)
                truth_sinks[spec.ref].write(
                    pl.DataFrame(
                        {
                            spec.primary_key: extract[spec.primary_key],
                            "true_person_id": person_ids,
                            "invalid_field": broken,
                        }
                    )
                )
                rows[spec.ref] += extract.height
                for kind, n in injected.items():
                    counts[spec.ref][kind] += n
    finally:
        for sink in (people_sink, *extract_sinks.values(), *truth_sinks.values()):
            sink.close()

    summaries = {
        spec.ref: ExtractSummary(
            member=spec.member,
            dataset=spec.dataset,
            rows=rows[spec.ref],
            errors=counts[spec.ref],
            path=extract_sinks[spec.ref].path,
            contract=out / "contracts" / spec.member / f"{spec.dataset}.yaml",
            ground_truth=truth_sinks[spec.ref].path,
        )
        for spec in specs
    }
    manifest_path = out / "manifest.json"
    manifest: dict[str, Any] = {
        "generator": "accord.synth",
        "seed": seed,
        "people": people,
        "errors": errors,
        "error_rates": profile.as_dict(),
        "error_kinds": list(ERROR_KINDS),
        "format": fmt,
        "chunk_size": chunk_size,
        "reference_date": REFERENCE_DATE.isoformat(),
        "boroughs": list(BOROUGH_SLUGS),
        "truth": "people.parquet",
        "extracts": {
            ref: {
                "member": s.member,
                "dataset": s.dataset,
                "rows": s.rows,
                "errors": s.errors,
                "path": s.path.relative_to(out).as_posix(),
                "contract": s.contract.relative_to(out).as_posix(),
                "ground_truth": s.ground_truth.relative_to(out).as_posix(),
            }
            for ref, s in summaries.items()
        },
    }
    manifest_path.write_text(json.dumps(manifest, indent=2) + "\n", encoding="utf-8")
    return PopulationSummary(
        people=people,
        seed=seed,
        errors=errors,
        fmt=fmt,
        out=out,
        people_path=people_sink.path,
        manifest_path=manifest_path,
        extracts=summaries,
    )
