"""schemathesis against the OpenAPI schema: no 500s and no response that breaks the schema.

Bounded: 20 examples per operation, authenticated as an admin of a small FSM world.
"""

from __future__ import annotations

import pytest
import schemathesis
from hypothesis import HealthCheck, given, settings

from accord import Trust
from accord.interfaces.api import create_app
from tests.api.fsm_world import ADMIN, build_fsm_world

MAX_EXAMPLES = 20


@pytest.mark.slow
def test_the_api_never_fails_and_keeps_to_its_schema(sqlite_trust: Trust) -> None:
    from schemathesis.checks import not_a_server_error
    from schemathesis.specs.openapi.checks import response_schema_conformance

    build_fsm_world(sqlite_trust)
    headers = {"Authorization": f"Bearer {sqlite_trust.catalogue.rotate_token(ADMIN)}"}
    app = create_app(sqlite_trust, web=False, max_upload=256 * 1024)
    schema = schemathesis.openapi.from_asgi("/api/v1/openapi.json", app)
    operations = [result.ok() for result in schema.get_all_operations()]
    assert len(operations) > 20

    for operation in operations:

        @given(case=operation.as_strategy())
        @settings(
            max_examples=MAX_EXAMPLES,
            deadline=None,
            suppress_health_check=list(HealthCheck),
            database=None,
        )
        def check(case: schemathesis.Case) -> None:
            case.call_and_validate(
                headers=headers, checks=[not_a_server_error, response_schema_conformance]
            )

        check()
