"""The server's API fuzzed from its own OpenAPI document (``/openapi.json``) by Schemathesis:
requests generated for every operation, valid ones and ones that break the schema, once with
an admin token and once with none, against the application ``create_app`` builds over a fresh
SQLite database. No answer may be a 5xx: a bad request is the caller's mistake (4xx), never a
crash. (PostgreSQL is left out of the fuzzing to keep CI's time: it takes as long again; the
regression tests below run on both.)

The fuzzing is derandomized (the same requests each run, so a failure on CI is reproducible);
the tests below it pin the bugs it and its probes found, each with a request that crashed.
"""

from __future__ import annotations

import contextlib
from collections import Counter
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient
from server_support import assert_error, bearer

from reef import api
from reef.server.app import ServerSettings, create_app

schemathesis = pytest.importorskip("schemathesis")

# Generated cases per operation, per generation mode (valid and schema-breaking), per caller.
EXAMPLES = 25
# What one fuzzing of both callers must reach, at least.
MIN_REQUESTS = 1000


def _fuzz(app: Any, headers: dict[str, str], calls: Counter[str], failures: list[str]) -> None:
    """Every operation of ``app``'s schema, ``EXAMPLES`` valid and ``EXAMPLES`` invalid
    requests each, sent with ``headers``; each 5xx noted in ``failures`` as a curl command."""
    from hypothesis import HealthCheck, Phase, given, settings
    from hypothesis.errors import Unsatisfiable
    from schemathesis import GenerationMode
    from schemathesis.checks import not_a_server_error
    from schemathesis.openapi import from_asgi

    schema = from_asgi("/openapi.json", app)
    operations = [result.ok() for result in schema.get_all_operations()]
    assert len(operations) >= 15, [op.path for op in operations]
    for operation in operations:
        for mode in (GenerationMode.POSITIVE, GenerationMode.NEGATIVE):

            @given(case=operation.as_strategy(generation_mode=mode))
            @settings(
                max_examples=EXAMPLES,
                deadline=None,
                database=None,
                derandomize=True,
                phases=[Phase.generate],
                suppress_health_check=list(HealthCheck),
            )
            def send(case: Any) -> None:
                response = case.call(headers=headers)
                calls[f"{response.status_code // 100}xx"] += 1
                try:
                    case.validate_response(response, checks=[not_a_server_error])
                except Exception as exc:  # the check's failure: keep it, go on fuzzing
                    failures.append(
                        f"{response.status_code} {response.text[:300]}\n"
                        f"  {case.as_curl_command()[:1000]}\n  {type(exc).__name__}"
                    )

            # No invalid request exists for an operation without parameters.
            with contextlib.suppress(Unsatisfiable):
                send()


@pytest.mark.slow
def test_no_generated_request_is_a_server_error(tmp_path: Path) -> None:
    with api.server_open(f"sqlite:///{tmp_path / 'fuzzed.db'}") as database:
        admin = api.token_create("admin", name="fuzz", db=database).token
        settings = ServerSettings(rate=0, docs_assets=False, files_root=tmp_path / "files")
        app = create_app(database, settings)
        failures: list[str] = []
        by_caller: dict[str, Counter[str]] = {}
        for caller, headers in (("admin", bearer(admin)), ("anonymous", {})):
            calls: Counter[str] = Counter()
            _fuzz(app, headers, calls, failures)
            by_caller[caller] = calls
    total = sum(sum(calls.values()) for calls in by_caller.values())
    assert not failures, f"{len(failures)} server errors:\n" + "\n".join(failures[:10])
    assert total >= MIN_REQUESTS, by_caller
    # Each caller was heard as itself: the admin reached its endpoints, the anonymous not.
    assert by_caller["admin"]["2xx"] > by_caller["anonymous"]["2xx"] > 0, by_caller
    assert by_caller["anonymous"]["4xx"] > 0, by_caller


# --- what the fuzzing and its probes found ---------------------------------------------------


@pytest.fixture
def fuzzed(make_client: Any) -> TestClient:
    return make_client(rate=0)


@pytest.mark.parametrize(
    ("query", "fragment"),
    [
        # An age back past year 1 overflowed datetime: 500 OverflowError.
        ("since=99999999d", "outside the dates"),
        # The day after 9999-12-31 (the end of an --until date) overflowed too.
        ("until=9999-12-31", "outside the dates"),
        # A version of more than 4,300 digits: Python's int() refuses it, a ValueError (500),
        # whether given bare or in a specifier, where the specifier reads it only when used.
        ("version=" + "1" * 5000, "neither a version"),
        ("version=>=" + "1" * 5000, "neither a version"),
        ("since=" + "1" * 5000 + "d", "outside the dates"),
    ],
)
def test_a_filter_out_of_range_is_bad_input_not_a_crash(
    fuzzed: TestClient, query: str, fragment: str
) -> None:
    assert_error(fuzzed.get(f"/api/v1/runs?{query}"), 422, "QueryError", fragment)
    page = fuzzed.get(f"/runs?{query}")
    assert page.status_code == 422, page.text[:500]
