"""Who sees quarantined rows: the ingest service decides, whoever calls it."""

from __future__ import annotations

import pytest

from accord.errors import PermissionDenied


def test_a_user_of_another_member_is_refused_the_quarantine_with_a_reason(
    trust, dataset, write
) -> None:
    ref = dataset()
    trust.catalogue.add_member("hackney", "London Borough of Hackney")
    stranger, _ = trust.catalogue.add_user("owner@hackney.gov.uk", "hackney", ["data-owner"])
    owner, _ = trust.catalogue.add_user("owner@camden.gov.uk", "camden", ["data-owner"])
    trust.ingest.ingest(ref, write("pupil_id,name,age\nP1,Ann,1\nP2,Bob,x\n"))

    with pytest.raises(PermissionDenied) as refused:
        trust.ingest.quarantine(ref, actor=stranger)
    assert refused.value.message.startswith(
        "To see the rows quarantined from camden/pupils you must be a data owner or admin "
        "acting for camden; owner@hackney.gov.uk acts for hackney"
    )
    assert trust.ingest.quarantine(ref, actor=owner).to_pylist()[0]["age"] == "x"
    assert trust.ingest.quarantine(ref, actor=trust.operator).num_rows == 1


def test_an_analyst_of_the_member_is_refused_the_quarantine(trust, dataset, write) -> None:
    ref = dataset()
    analyst, _ = trust.catalogue.add_user("analyst@camden.gov.uk", "camden", ["analyst"])
    trust.ingest.ingest(ref, write("pupil_id,name,age\nP1,Ann,x\nP2,Bob,2\n"))

    with pytest.raises(PermissionDenied, match="you need the data-owner or admin role"):
        trust.ingest.quarantine(ref, 1, actor=analyst)
