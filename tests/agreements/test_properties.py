"""Property: the access function never grants a field that no active agreement grants."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from accord import Trust
from accord.agreements.cedar import AgreementState, PolicyEngine, Principal
from accord.agreements.model import Agreement
from accord.errors import PermissionDenied

from .conftest import MEMBERS, activate, analyst, contracts, ig, populate, template

ALL_FIELDS = sorted((c.ref, f.name) for c in contracts() for f in c.fields)
AGREEMENTS = [
    "fsm-camden-islington",
    "vps-shielding-food",
    "homelessness-camden",
    "fsm-revoked",
    "fsm-draft",
    "no-such",
]
PURPOSES = ["fsm-support", "shielding-food-support", "homelessness-prevention", "research"]
USERS = [analyst(m) for m in MEMBERS] + [ig(m) for m in MEMBERS] + ["owner@camden.test"]
NOW = datetime.now(UTC)


@pytest.fixture(scope="module")
def world(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Trust, dict[str, Agreement]]]:
    trust = populate(Trust.init(tmp_path_factory.mktemp("p") / "home", actor="tester"))
    models = {}
    for name in ("fsm", "vps", "homelessness"):
        models[template(name).id] = template(name)
        activate(trust, template(name))
    revoked = template("fsm", id="fsm-revoked")
    activate(trust, revoked)
    trust.agreements.revoke("fsm-revoked", "test")
    trust.agreements.propose(template("fsm", id="fsm-draft"))
    yield trust, models
    trust.close()


def oracle(
    models: dict[str, Agreement], member: str, agreement: str, purpose: str, at: datetime
) -> set[tuple[str, str]]:
    """Fields an active agreement shares with ``member`` for ``purpose`` at ``at``."""
    model = models.get(agreement)
    if model is None or model.purpose_code != purpose:
        return set()
    starts, ends = model.starts_at(), model.ends_at()
    if starts is None or ends is None or not (starts <= at < ends):
        return set()
    return {(s.dataset, f) for s in model.shares_for(member) for f in s.fields}


@settings(
    max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(
    user=st.sampled_from(USERS),
    agreement=st.sampled_from(AGREEMENTS),
    purpose=st.sampled_from(PURPOSES),
    fields=st.sets(st.sampled_from(ALL_FIELDS), min_size=1, max_size=6),
    days=st.integers(min_value=-30, max_value=900),
)
def test_decide_never_grants_a_field_no_active_agreement_grants(
    world: tuple[Trust, dict[str, Agreement]],
    user: str,
    agreement: str,
    purpose: str,
    fields: set[tuple[str, str]],
    days: int,
) -> None:
    trust, models = world
    at = NOW + timedelta(days=days)
    member = user.split("@")[1].removesuffix(".test")
    asked: dict[str, set[str]] = {}
    for ref, name in fields:
        asked.setdefault(ref, set()).add(name)
    decision = trust.agreements.decide(user, agreement, purpose, asked, at)
    if decision.allowed:
        assert fields <= oracle(models, member, agreement, purpose, at)
        assert decision.policy_ids


@settings(
    max_examples=100, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(
    user=st.sampled_from(USERS),
    agreement=st.sampled_from(AGREEMENTS),
    purpose=st.sampled_from(PURPOSES),
    days=st.integers(min_value=-30, max_value=900),
)
def test_grant_never_contains_a_field_no_active_agreement_grants(
    world: tuple[Trust, dict[str, Agreement]], user: str, agreement: str, purpose: str, days: int
) -> None:
    trust, models = world
    at = NOW + timedelta(days=days)
    member = user.split("@")[1].removesuffix(".test")
    try:
        grant = trust.agreements.grant(user, agreement, purpose, at)
    except PermissionDenied:
        return
    granted = {(ref, f) for ref, g in grant.datasets.items() for f in g.fields}
    assert granted <= oracle(models, member, agreement, purpose, at)
    for ref in grant.outputs.record_fields:
        dataset, _, name = ref.rpartition(".")
        assert (dataset, name) in granted


@settings(max_examples=60, deadline=None)
@given(
    shared=st.sets(st.sampled_from(ALL_FIELDS), min_size=1, max_size=12),
    asked=st.sets(st.sampled_from(ALL_FIELDS), min_size=1, max_size=6),
)
def test_compiled_policies_grant_exactly_the_shared_fields(
    shared: set[tuple[str, str]], asked: set[tuple[str, str]]
) -> None:
    by_ref: dict[str, list[str]] = {}
    for ref, name in sorted(shared):
        by_ref.setdefault(ref, []).append(name)
    data = template("fsm").model_dump()
    data["datasets"] = [{"dataset": r, "fields": f} for r, f in by_ref.items()]
    model = Agreement.model_validate(data)
    engine = PolicyEngine([AgreementState(model.id, 1, model, signed=True)])
    who = Principal("a@islington.test", "islington", ("analyst",))
    request: dict[str, set[str]] = {}
    for ref, name in asked:
        request.setdefault(ref, set()).add(name)
    decision = engine.decide(who, model.id, "fsm-support", request, NOW)
    assert decision.allowed == (asked <= shared)
