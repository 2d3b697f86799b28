"""The services themselves refuse the wrong roles, whichever interface calls them.

Each refusal is a PermissionDenied whose message says why; nothing is changed or written. When
no user is given, the trust operator acts, and the log says so.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pyarrow.parquet as pq
import pytest
from sqlalchemy import select

from accord import Trust
from accord.agreements.model import Agreement
from accord.core.store.models import EventRow
from accord.errors import PermissionDenied
from accord.linkage.events import LinkExported, ReviewDecided
from accord.policy.roles import Operator
from tests.agreements.conftest import analyst, ig, populate, template
from tests.api.test_linkage_api import (  # noqa: F401 (a fixture)
    AGREEMENT,
    PUPILS,
    RESIDENTS,
    LinkedTemplate,
    linked_template,
    open_copy,
)

pytestmark = pytest.mark.filterwarnings("ignore:Arrow output on a DB-API result")


def events(trust: Trust, kind: str) -> list[EventRow]:
    with trust.store.sessions() as session:
        return list(session.scalars(select(EventRow).where(EventRow.kind == kind)))


# -- agreements ------------------------------------------------------------------------------


@pytest.fixture
def pop(sqlite_trust: Trust) -> Trust:
    return populate(sqlite_trust)


@pytest.fixture
def fsm() -> Agreement:
    return template("fsm")


def test_an_analyst_may_not_propose_an_agreement(pop: Trust, fsm: Agreement) -> None:
    with pytest.raises(PermissionDenied) as refused:
        pop.agreements.propose(fsm, actor=pop.catalogue.get_user(analyst("camden")))
    assert "To propose an agreement you need the ig-lead or admin role" in refused.value.message
    assert "analyst@camden.test has analyst" in refused.value.message
    assert pop.agreements.list() == []
    assert events(pop, "agreement.proposed") == []


def test_an_ig_lead_proposes_and_is_recorded_as_the_proposer(pop: Trust, fsm: Agreement) -> None:
    info = pop.agreements.propose(fsm, actor=pop.catalogue.get_user(ig("camden")))
    assert info.proposed_by == ig("camden")
    assert [e.actor for e in events(pop, "agreement.proposed")] == [ig("camden")]


def test_without_a_user_the_trust_operator_proposes_and_the_log_says_so(
    pop: Trust, fsm: Agreement
) -> None:
    info = pop.agreements.propose(fsm)
    assert info.proposed_by == "operator:tester@accord.test"
    assert isinstance(pop.operator, Operator) and pop.operator.has_role("admin")
    assert [e.actor for e in events(pop, "agreement.proposed")] == ["operator:tester@accord.test"]


def test_a_deactivated_ig_lead_may_not_propose(pop: Trust, fsm: Agreement) -> None:
    pop.catalogue.deactivate_user(ig("camden"))
    with pytest.raises(PermissionDenied, match="deactivated"):
        pop.agreements.propose(fsm, actor=pop.catalogue.get_user(ig("camden")))


def test_neither_the_operator_nor_an_admin_may_sign_for_a_member(
    pop: Trust, fsm: Agreement
) -> None:
    pop.agreements.propose(fsm)
    with pytest.raises(PermissionDenied, match="The trust operator cannot sign"):
        pop.agreements.sign(fsm.id, pop.operator)
    admin = pop.catalogue.get_user("admin@islington.test")
    with pytest.raises(PermissionDenied, match="only a user with the ig-lead role may sign"):
        pop.agreements.sign(fsm.id, admin)
    assert pop.agreements.status(fsm.id).signatures == []


def test_a_signature_is_recorded_as_the_signers_act(pop: Trust, fsm: Agreement) -> None:
    pop.agreements.propose(fsm)
    pop.agreements.sign(fsm.id, ig("camden"))
    assert [e.actor for e in events(pop, "agreement.signed")] == [ig("camden")]


def test_an_ig_lead_of_another_member_may_not_revoke(pop: Trust, fsm: Agreement) -> None:
    pop.agreements.propose(fsm)
    with pytest.raises(PermissionDenied) as refused:
        pop.agreements.revoke(fsm.id, "not ours", actor=pop.catalogue.get_user(ig("hackney")))
    assert "only an ig-lead of a controller (camden, islington) or an admin" in str(refused.value)
    assert pop.agreements.status(fsm.id).state != "revoked"
    admin = pop.catalogue.get_user("admin@islington.test")
    pop.agreements.revoke(fsm.id, "ended", actor=admin)
    assert [e.actor for e in events(pop, "agreement.revoked")] == ["admin@islington.test"]


# -- linkage ---------------------------------------------------------------------------------


@pytest.fixture
def linked(linked_template: LinkedTemplate, tmp_path: Path) -> Iterator[Trust]:  # noqa: F811
    trust = open_copy(linked_template, tmp_path)
    yield trust
    trust.close()


def _pair(trust: Trust) -> tuple[str, str]:
    item = trust.linkage.review_queue(AGREEMENT)[0]
    return item.record_a, item.record_b


def test_a_member_not_party_to_the_agreement_may_not_review(linked: Trust) -> None:
    hackney = linked.catalogue.get_user("owner@hackney.test")
    a, b = _pair(linked)
    for attempt in (
        lambda: linked.linkage.review_queue(AGREEMENT, actor=hackney),
        lambda: linked.linkage.explain(AGREEMENT, a, b, actor=hackney),
        lambda: linked.linkage.review_pair(AGREEMENT, a, b, actor=hackney),
        lambda: linked.linkage.decide(AGREEMENT, a, b, True, actor=hackney),
        lambda: linked.linkage.status(AGREEMENT, actor=hackney),
        lambda: linked.linkage.weights(AGREEMENT, actor=hackney),
        lambda: linked.linkage.page(AGREEMENT, actor=hackney),
    ):
        with pytest.raises(PermissionDenied) as refused:
            attempt()
        assert "seen only by its parties (camden, islington)" in refused.value.message
        assert "owner@hackney.test acts for hackney" in refused.value.message
    assert events(linked, ReviewDecided.kind) == []


def test_an_analyst_of_a_party_sees_the_status_but_not_the_records(linked: Trust) -> None:
    ana = linked.catalogue.get_user("analyst@islington.test")
    assert linked.linkage.status(AGREEMENT, actor=ana).run is not None
    assert linked.linkage.weights(AGREEMENT, actor=ana) is not None
    shown = linked.linkage.page(AGREEMENT, actor=ana)
    assert shown.status.review_open > 0 and shown.weights is not None
    assert (shown.reviewer, shown.queue) == (False, [])
    a, b = _pair(linked)
    with pytest.raises(PermissionDenied, match="linkage review shows people's identifiers"):
        linked.linkage.explain(AGREEMENT, a, b, actor=ana)
    with pytest.raises(PermissionDenied, match="linkage review shows people's identifiers"):
        linked.linkage.review_pair(AGREEMENT, a, b, actor=ana)
    with pytest.raises(PermissionDenied, match=r"analyst@islington\.test has analyst"):
        linked.linkage.decide(AGREEMENT, a, b, False, actor=ana)
    with pytest.raises(PermissionDenied, match="To run linkage you need the data-owner"):
        linked.linkage.run(AGREEMENT, actor=ana)
    assert linked.linkage.status(AGREEMENT).review_decided == 0


def test_a_data_owner_may_not_link_datasets_the_agreement_does_not_name(linked: Trust) -> None:
    owner = linked.catalogue.get_user("owner@camden.test")
    with pytest.raises(PermissionDenied, match=r"link datasets other than those .* admin role"):
        linked.linkage.run(AGREEMENT, datasets=[PUPILS, RESIDENTS], actor=owner)
    assert linked.linkage.status(AGREEMENT).run.number == 1


def test_a_reviewer_sees_the_queue_one_slice_at_a_time(linked: Trust) -> None:
    owner = linked.catalogue.get_user("owner@camden.test")
    queue = linked.linkage.review_queue(AGREEMENT, actor=owner)
    assert len(queue) > 3
    first = linked.linkage.page(AGREEMENT, actor=owner, limit=2)
    rest = linked.linkage.page(AGREEMENT, actor=owner, offset=2, limit=len(queue))
    assert first.reviewer and first.status.review_open == len(queue)
    assert first.queue + rest.queue == queue


def test_a_reviewers_decision_is_recorded_as_theirs(linked: Trust) -> None:
    owner = linked.catalogue.get_user("owner@islington.test")
    a, b = _pair(linked)
    item = linked.linkage.decide(AGREEMENT, a, b, False, actor=owner)
    assert item.reviewer == "owner@islington.test"
    assert [e.actor for e in events(linked, ReviewDecided.kind)] == ["owner@islington.test"]
    # The clusters rebuilt by the decision are recorded as the reviewer's act too.
    assert events(linked, "linkage.run-completed")[-1].actor == "owner@islington.test"


def test_only_an_administrator_may_export_person_keys_and_the_export_is_logged(
    linked: Trust, tmp_path: Path
) -> None:
    owner = linked.catalogue.get_user("owner@camden.test")
    refused_file = tmp_path / "refused.parquet"
    with pytest.raises(PermissionDenied) as refused:
        linked.linkage.export(AGREEMENT, refused_file, actor=owner)
    assert "for the trust's administrators only" in refused.value.message
    assert "owner@camden.test has data-owner" in refused.value.message
    assert not refused_file.exists() and events(linked, LinkExported.kind) == []

    admin = linked.catalogue.get_user("admin@trust.test")
    rows = linked.linkage.export(AGREEMENT, tmp_path / "keys.parquet", actor=admin)
    assert pq.read_table(tmp_path / "keys.parquet").num_rows == rows
    (exported,) = events(linked, LinkExported.kind)
    assert exported.actor == "admin@trust.test" and '"by":"admin@trust.test"' in exported.payload


def test_without_a_user_the_operator_exports_and_is_named_in_the_log(
    linked: Trust, tmp_path: Path
) -> None:
    linked.linkage.export(AGREEMENT, tmp_path / "keys.parquet")
    (exported,) = events(linked, LinkExported.kind)
    assert exported.actor == "operator:tester@accord.test"
