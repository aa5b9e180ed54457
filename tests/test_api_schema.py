"""Schemathesis against the served OpenAPI document: no server errors, no answer that breaks the schema.

Driven from a plain test (the schemathesis pytest plugin does not support this pytest yet): every
operation gets Hypothesis-generated requests, sent with a staff token and a coordinator's token.
"""

import pytest
import schemathesis
from schemathesis import checks
import sqlalchemy as sa
from hypothesis import HealthCheck, given, settings

from app.auth import tokens
from app.extensions import db
from app.models import Case, OrderStatus
from tests import factories as f


# The bar: no server errors and nothing that breaks the document. (Semantic 422s for
# schema-valid input, e.g. a case that cannot be ordered, are correct answers, so
# positive_data_acceptance is not among these.)
CHECKS = [
    checks.not_a_server_error,
    checks.status_code_conformance,
    checks.content_type_conformance,
    checks.response_schema_conformance,
    checks.response_headers_conformance,
    checks.negative_data_rejection,
]


@pytest.fixture
def api_schema(app, people):
    case = db.session.scalar(sa.select(Case).where(Case.slug == "sonia-dahmani"))
    f.order(case.campaign, people.group_a, [(case, 2, 25)], status=OrderStatus.SUBMITTED)
    db.session.commit()
    return schemathesis.openapi.from_wsgi("/api/v1/openapi.json", app)


def test_api_conforms_to_its_schema(api_schema, people):
    headers = [{"Authorization": f"Bearer {tokens.create_token(user, 'schemathesis')[1]}"} for user in (people.staff, people.coord_a)]
    operations = [result.ok() for result in api_schema.get_all_operations()]
    assert len(operations) >= 11
    for operation in operations:

        @given(case=operation.as_strategy())
        @settings(max_examples=15, deadline=None, suppress_health_check=list(HealthCheck), database=None)
        def check(case):
            for header in headers:
                case.call_and_validate(headers=header, checks=CHECKS)

        check()
