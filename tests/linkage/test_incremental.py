"""Incremental matching: a new record's candidates are exactly the pairs the blocking rules make."""

from __future__ import annotations

import duckdb
import pyarrow as pa

from accord.linkage import blocking
from accord.linkage.candidates import CandidateIndex, lookups
from accord.linkage.engine import link_roles
from accord.linkage.prepare import prepare
from tests.linkage.conftest import Boroughs


def _prepared(boroughs: Boroughs) -> tuple[pa.Table, list[blocking.BlockingTemplate]]:
    """The prepared records with a person key each, and the blocking rules that apply."""
    sources = boroughs.sources()
    roles = link_roles(sources)
    tables = [prepare(s, roles).table for s in sources]
    table = pa.concat_tables(tables, promote_options="default")
    keys = pa.array([f"P{i}" for i in range(table.num_rows)], pa.string())
    return table.append_column("person_key", keys), blocking.select(blocking.REGISTRY, roles)


def _expected(
    population: pa.Table, record: pa.Table, rules: list[blocking.BlockingTemplate]
) -> set[tuple[str, str]]:
    """Rows of ``population`` that any blocking rule pairs with ``record``, by Splink's own
    blocking SQL, in either order."""
    con = duckdb.connect()
    con.register("population", population)
    con.register("record", record)
    conditions = []
    for rule in rules:
        sql = rule.creator().get_blocking_rule("duckdb").blocking_rule_sql
        swapped = sql.replace("l.", "__x.").replace("r.", "l.").replace("__x.", "r.")
        conditions += [f"({sql})", f"({swapped})"]
    rows = con.sql(
        "SELECT l.source_dataset, l.unique_id FROM population l, record r "
        f"WHERE {' OR '.join(conditions)}"
    ).fetchall()
    return {(d, str(u)) for d, u in rows}


def test_candidates_are_the_rows_the_blocking_rules_pair(boroughs: Boroughs) -> None:
    table, rules = _prepared(boroughs)
    held, population = table.slice(0, 40), table.slice(40)
    index = CandidateIndex(population, lookups(rules))
    found_any = 0
    for i in range(held.num_rows):
        record = held.slice(i, 1).drop_columns(["person_key"])
        found = index.find(record)
        got = set(
            zip(
                found.column("source_dataset").to_pylist(),
                map(str, found.column("unique_id").to_pylist()),
                strict=True,
            )
        )
        assert got == _expected(population, record, rules)
        found_any += bool(got)
    assert found_any > 30  # the comparison is not between empty sets


def test_an_added_record_is_found_and_replaces_its_earlier_version(boroughs: Boroughs) -> None:
    table, rules = _prepared(boroughs)
    record, population = table.slice(0, 1), table.slice(1)
    index = CandidateIndex(population, lookups(rules))
    probe = record.drop_columns(["person_key"])
    before = index.find(probe).num_rows
    index.add(record)
    assert index.find(probe).num_rows == before + 1  # the record finds itself now
    # The same record again, under a new person: one version only, the new one.
    again = record.set_column(
        record.schema.get_field_index("person_key"), "person_key", pa.array(["P-new"])
    )
    assert index.add(again) is not None
    found = index.find(probe)
    assert found.num_rows == before + 1
    assert "P-new" in found.column("person_key").to_pylist()
    # A record of the built population that arrives again replaces its row there.
    existing = population.slice(5, 1)
    replaced = index.add(existing)
    assert (
        replaced is not None and replaced.column("unique_id")[0] == existing.column("unique_id")[0]
    )
    probe = existing.drop_columns(["person_key"])
    ids = [str(u) for u in index.find(probe).column("unique_id").to_pylist()]
    assert ids.count(str(existing.column("unique_id")[0].as_py())) == 1
