"""schemathesis against /api/schema with a warden's token: generated requests for every
operation, sent to a live server; no 500, and every response conforms to the schema.
Bounded: a few examples per operation, so the whole run takes seconds."""

import pytest
import requests
import schemathesis
from django.contrib.auth.models import Group, User
from hypothesis import HealthCheck, given, settings
from schemathesis import checks

pytestmark = pytest.mark.django_db(transaction=True)
PASSWORD = "correct horse battery staple"
EXAMPLES_PER_OPERATION = 25
# Not held against the API: it refuses more than a schema can say (a name of only invisible
# characters, a resident who does not exist) and ignores fields it does not know.
LENIENT = [checks.positive_data_acceptance, checks.negative_data_rejection]


@pytest.fixture
def warden_token(live_server, migration_data) -> str:
    wendy = User.objects.create_user("wendy", password=PASSWORD)
    wendy.groups.add(Group.objects.get(name="wardens"))
    answer = requests.post(
        live_server.url + "/api/token",
        json={"username": "wendy", "password": PASSWORD},
        timeout=10,
    )
    return answer.json()["access"]


def test_generated_requests_get_schema_conforming_answers_and_never_a_500(
    live_server, warden_token
) -> None:
    headers = {"Authorization": f"Bearer {warden_token}"}
    raw = requests.get(live_server.url + "/api/schema", headers=headers, timeout=10).json()
    schema = schemathesis.openapi.from_dict(raw)
    operations = [result.ok() for result in schema.get_all_operations()]  # type: ignore[union-attr]
    assert len(operations) >= 12
    failures = []
    for operation in operations:

        @given(case=operation.as_strategy())
        @settings(
            max_examples=EXAMPLES_PER_OPERATION,
            deadline=None,
            database=None,
            suppress_health_check=list(HealthCheck),
        )
        def check(case: schemathesis.Case) -> None:
            case.call_and_validate(
                base_url=live_server.url, headers=headers, timeout=30, excluded_checks=LENIENT
            )

        try:
            check()
        except Exception as failure:  # keep going: report every operation that failed
            failures.append(f"{operation.method.upper()} {operation.path}: {failure}")
    assert failures == [], "\n\n".join(failures)
