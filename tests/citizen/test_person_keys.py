"""Which person keys are a person's: the keys of every record found for them, in every linked
agreement (one step: the records of those keys are not searched again).

The keys files are written by hand so that one record carries different keys in different
agreements, which the small linked worlds never produce.
"""

from __future__ import annotations

from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from accord import Trust
from tests.citizen.conftest import pupil
from tests.query.conftest import CENSUS

pytestmark = pytest.mark.filterwarnings("ignore:Arrow output on a DB-API result")


def _keys_file(trust: Trust, agreement: str, rows: list[tuple[str, str]]) -> None:
    folder = Path(trust.settings.data_dir) / "linkage" / agreement
    folder.mkdir(parents=True, exist_ok=True)
    table = pa.table(
        {
            "dataset": [CENSUS] * len(rows),
            "record_key": [record for record, _ in rows],
            "person_key": [key for _, key in rows],
        }
    )
    pq.write_table(table, folder / "keys.parquet")


def _record_key(trust: Trust, i: int) -> str:
    (found,) = trust.citizen.records(pupil(i))
    return found[1]


@pytest.fixture
def linked(scensus: Trust) -> tuple[Trust, list[str]]:
    """Pupil 1's census record is pk_a1 under agreement a and pk_b1 under b, where pupil 2's
    record is linked to it; under c, pupil 2's record is pk_c2, with pupil 3's. Pupil 4 is
    pk_other."""
    one, two, three, four = records = [_record_key(scensus, i) for i in (1, 2, 3, 4)]
    _keys_file(scensus, "agreement-a", [(one, "pk_a1"), (four, "pk_other")])
    _keys_file(scensus, "agreement-b", [(one, "pk_b1"), (two, "pk_b1")])
    _keys_file(scensus, "agreement-c", [(two, "pk_c2"), (three, "pk_c2")])
    return scensus, records


def test_the_records_are_those_of_the_nhs_number_and_of_its_keys(
    linked: tuple[Trust, list[str]],
) -> None:
    trust, (one, two, _, _) = linked
    assert trust.citizen.records(pupil(1)) == {(CENSUS, one), (CENSUS, two)}


def test_an_opt_out_covers_every_key_of_every_record_found(
    linked: tuple[Trust, list[str]],
) -> None:
    trust, _ = linked
    trust.citizen.opt_out(pupil(1), channel="test")
    optouts = trust.queries.optouts
    assert all(optouts.is_opted_out(person_key=k) for k in ("pk_a1", "pk_b1", "pk_c2"))
    assert not optouts.is_opted_out(person_key="pk_other")


def test_the_report_counts_an_opt_out_under_any_key_of_a_record_found(
    linked: tuple[Trust, list[str]],
) -> None:
    trust, _ = linked
    optouts = trust.queries.optouts
    optouts.record(person_key="pk_other", source="NDOP")
    assert not trust.citizen.report(pupil(1), client="test:keys").opted_out
    optouts.record(person_key="pk_c2", source="NDOP")
    assert trust.citizen.report(pupil(1), client="test:keys").opted_out
