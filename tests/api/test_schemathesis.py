"""schemathesis over the whole OpenAPI document, authenticated as an admin.

Every operation gets a few generated requests, valid ones and invalid ones (a fixed
seed, so a run repeats exactly), sent to a real station over loopback. Each answer must
not be a server error and must match the document: a documented status, a body that
fits its schema (errors included: one body shape) and the declared content type.

The operations are driven through schemathesis' Python API (``as_strategy`` with
hypothesis) rather than its pytest plugin, whose lazy loader does not run on pytest 9.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import requests
import schemathesis
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis.errors import Unsatisfiable
from schemathesis import GenerationMode
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    response_schema_conformance,
    status_code_conformance,
)

from task_station.api.options import ApiOptions
from tests.api.live import LiveStation

CHECKS = [
    not_a_server_error,
    status_code_conformance,
    content_type_conformance,
    response_schema_conformance,
]
EXAMPLES = {GenerationMode.POSITIVE: 3, GenerationMode.NEGATIVE: 2}
#: Operations left out, and why.
STATUSES: dict[int, int] = {}
SKIPPED = {
    # A valid login's refresh token is enough to show it; fuzzing it as the admin would
    # only lock the admin out (the lockout has its own tests).
    "POST /auth/password",
}


@pytest.fixture(scope="module")
def live(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LiveStation]:
    data_dir: Path = tmp_path_factory.mktemp("schemathesis") / "station"
    options = ApiOptions(rate_per_second=100_000, burst=100_000)
    with LiveStation(data_dir, options) as station:
        yield station


def _exercise(operation: Any, mode: GenerationMode, live: LiveStation, session: Any) -> None:
    @given(case=operation.as_strategy(generation_mode=mode))
    @settings(
        max_examples=EXAMPLES[mode],
        deadline=None,
        derandomize=True,
        database=None,
        phases=[Phase.explicit, Phase.generate],
        suppress_health_check=list(HealthCheck),
    )
    def run(case: Any) -> None:
        headers = {"Authorization": f"Bearer {live.token()}"}  # fresh: logout is fuzzed too
        response = case.call(base_url=live.url, session=session, headers=headers, timeout=30)
        STATUSES[response.status_code] = STATUSES.get(response.status_code, 0) + 1
        case.validate_response(response, checks=CHECKS, headers=headers)

    run()


def test_every_operation_answers_as_documented(live: LiveStation) -> None:
    document = requests.get(f"{live.url}/openapi.json", timeout=30).json()
    schema = schemathesis.openapi.from_dict(document)
    failures: list[str] = []
    exercised = 0
    with requests.Session() as session:
        for result in schema.get_all_operations():
            operation = result.ok()
            label = f"{operation.method.upper()} {operation.path}"
            for mode in EXAMPLES:
                try:
                    _exercise(operation, mode, live, session)
                except Unsatisfiable:
                    continue  # no invalid request exists (no parameters, or a raw body)
                except (Exception, BaseExceptionGroup) as exc:  # report them all at the end
                    failures.append(f"{label} ({mode.value}): {exc}"[:1500])
            exercised += 1
    print("answers by status:", dict(sorted(STATUSES.items())))
    assert exercised > 80
    assert sum(n for status, n in STATUSES.items() if status < 300) > 100
    assert not failures, "\n\n".join(failures)
