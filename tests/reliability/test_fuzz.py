"""Fuzz: requests generated from /openapi.json (schemathesis strategies driven by hypothesis) against
every route, valid and invalid, as admin and as operator. No 5xx, every error in the envelope, every
answer matching its documented schema."""

from __future__ import annotations

import json
import os
from collections import Counter
from pathlib import Path

import schemathesis
from falcon import testing
from hypothesis import HealthCheck, given, settings
from hypothesis.errors import Unsatisfiable
from schemathesis import GenerationMode
from schemathesis.checks import not_a_server_error, response_schema_conformance

from service.app import create_app

from ..conftest import bearer, login, make_config

EXAMPLES = int(os.environ.get("FUZZ_EXAMPLES", "12"))


def test_generated_requests_never_get_a_5xx_and_errors_use_the_envelope(
    database_url, db, accounts, stockroom
):
    stockroom.paint_batch(stock="50", surplus="5")
    stockroom.location("14")  # a second location: transfers can succeed
    app = create_app(make_config(database_url, LOGIN_ATTEMPTS_PER_MINUTE=0), db)
    headers = {
        name: bearer(login(testing.TestClient(app), name).json["access_token"])
        for name in ("admin", "operator")
    }
    schema = schemathesis.openapi.from_wsgi("/openapi.json", app)
    cases: Counter = Counter()
    failures, mismatches = [], []
    shapes = schema.raw_schema["components"]["schemas"]
    for path, item in schema.raw_schema["paths"].items():  # every 2xx answer has a real schema to check
        for method, op in item.items():
            for status, answer in op["responses"].items():
                if status.startswith("2") and status != "204" and path != "/metrics":  # metrics: text
                    ref = answer["content"]["application/json"]["schema"]["$ref"]
                    assert shapes[ref.rsplit("/", 1)[1]]["properties"], (method, path)

    operations = [result.ok() for result in schema.get_all_operations()]
    for operation in operations:
        for mode in (GenerationMode.POSITIVE, GenerationMode.NEGATIVE):

            @given(case=operation.as_strategy(generation_mode=mode))
            @settings(
                max_examples=EXAMPLES,
                deadline=None,
                suppress_health_check=list(HealthCheck),
                derandomize=True,
                database=None,
            )
            def exercise(case):
                for role, auth in headers.items():
                    response = case.call(headers={**(case.headers or {}), **auth})
                    cases[f"{case.method} {case.operation.path}"] += 1
                    if response.status_code >= 500:
                        failures.append(
                            (role, case.method, case.formatted_path, case.body, response.text[:300])
                        )
                        continue
                    if response.status_code >= 400:
                        assert set(response.json()["error"]) == {"code", "message", "details"}, response.text
                    try:
                        case.validate_response(
                            response, checks=[not_a_server_error, response_schema_conformance]
                        )
                    except Exception as mismatch:  # a failed check: counted and reported below
                        mismatches.append(
                            (
                                role,
                                case.method,
                                case.formatted_path,
                                response.status_code,
                                str(mismatch)[:300],
                            )
                        )

            try:
                exercise()
            except Unsatisfiable:
                assert mode == GenerationMode.NEGATIVE  # nothing to break in an operation without inputs

    out = Path(os.environ.get("SOAK_REPORT_DIR", "bench/out"))
    out.mkdir(parents=True, exist_ok=True)
    report = {
        "requests": dict(sorted(cases.items())),
        "5xx": len(failures),
        "schema_mismatches": len(mismatches),
    }
    (out / "fuzz.json").write_text(json.dumps(report, indent=2))
    print(
        f"\nfuzz: {sum(cases.values())} requests over {len(cases)} operations, {len(failures)} x 5xx, "
        f"{len(mismatches)} answers not matching their documented schema"
    )
    assert failures == []
    assert mismatches == []
    assert set(cases) == {f"{operation.method.upper()} {operation.path}" for operation in operations}
