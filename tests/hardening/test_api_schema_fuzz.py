"""Schemathesis against the app's own ``/api/schema/``: every operation it lists (so operations added later are
covered without touching this file), called with a valid API key, answers no 5xx and conforms to the schema
(documented status code, content type, headers and body). Bounded: a fixed number of cases per operation.

Runs with ``transaction=True``: as in production every request runs in autocommit, so a statement the database
refuses fails that request only (inside one test transaction it would poison every later case)."""

import pytest
import schemathesis
from django.core.wsgi import get_wsgi_application
from hypothesis import HealthCheck, settings
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    response_headers_conformance,
    response_schema_conformance,
    status_code_conformance,
)

from credits.selectors import balance_for, ledger_audit

CHECKS = [
    not_a_server_error,
    status_code_conformance,
    content_type_conformance,
    response_headers_conformance,
    response_schema_conformance,
]
# Per operation; about a dozen operations today: some 400 requests in all, about a minute on two cores.
CASES_PER_OPERATION = 30


# Loaded once at collection, from the running app's schema view (it reads no database).
schema = schemathesis.openapi.from_wsgi("/api/schema/", get_wsgi_application())


@pytest.fixture
def funded_key(transactional_db, organization, api_key, grant):
    grant(organization, 1_000_000)
    return api_key


@schema.parametrize()
@settings(
    max_examples=CASES_PER_OPERATION,
    deadline=None,
    database=None,
    # One funded organization serves every case of an operation: state carrying over between cases is the point.
    suppress_health_check=[
        HealthCheck.function_scoped_fixture,
        HealthCheck.too_slow,
        HealthCheck.filter_too_much,
        HealthCheck.data_too_large,
    ],
)
def test_it_answers_every_operation_without_a_server_error_and_as_documented(case, funded_key, organization):
    case.call_and_validate(headers={"Authorization": f"Bearer {funded_key}"}, checks=CHECKS)
    assert balance_for(organization) >= 0
    assert ledger_audit(organization.pk)["ok"]
