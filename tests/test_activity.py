"""Activity logs: reading CloudTrail records, and the action each call needed.

- CloudTrail records: https://docs.aws.amazon.com/awscloudtrail/latest/userguide/cloudtrail-event-reference-record-contents.html
- userIdentity: https://docs.aws.amazon.com/awscloudtrail/latest/userguide/cloudtrail-event-reference-user-identity.html

The cases live in ``tests/cases/activity/``: a developer's day (``developer-day.json``, and
the same as JSON lines with one broken line). ``record`` and ``records`` serve the tests of
:mod:`iamkit.analysis.least_privilege` and :mod:`iamkit.analysis.unused` too.
"""

from __future__ import annotations

import gzip
import json
import pathlib
from typing import Any

import pytest

from conftest import CASES
from iamkit.account.activity import (
    EVENT_ACTIONS,
    SERVICE_PREFIXES,
    ActivityError,
    event_actions,
    read_activity,
    service_prefix,
)

ACTIVITY = CASES / "activity"
LOG = ACTIVITY / "developer-day.json"
LINES = ACTIVITY / "developer-day.jsonl"
DANA = "arn:aws:iam::111122223333:user/dana"


def records() -> list[dict[str, Any]]:
    return json.loads(LOG.read_text())["Records"]


def record(source: str = "s3.amazonaws.com", name: str = "GetObject", *, arn: str = DANA,
           params: dict[str, Any] | None = None, resources: list[dict[str, str]] | None = None,
           error: str | None = None, **extra: Any) -> dict[str, Any]:
    """One CloudTrail record of dana's (or another caller's)."""
    identity: dict[str, Any] = {"type": "IAMUser", "arn": arn, "accountId": "111122223333"}
    if ":assumed-role/" in arn:
        identity["type"] = "AssumedRole"
    out: dict[str, Any] = {"eventVersion": "1.09", "userIdentity": identity, "eventTime": "2024-06-03T12:00:00Z",
                           "eventSource": source, "eventName": name, "awsRegion": "us-east-1",
                           "requestParameters": params, "eventType": "AwsApiCall",
                           "recipientAccountId": "111122223333"}
    if resources is not None:
        out["resources"] = resources
    if error:
        out["errorCode"] = error
    out.update(extra)
    return out


# ── reading the log ────────────────────────────────────────────────────────────────


def test_reads_every_shape_of_log(tmp_path: pathlib.Path) -> None:
    text = LOG.read_text()
    lines = "\n".join(json.dumps(r) for r in records()) + "\n"
    gz = tmp_path / "111122223333_CloudTrail_us-east-1_20240603T1200Z_example.json.gz"
    gz.write_bytes(gzip.compress(text.encode()))
    lookup = [{"EventId": r["eventID"], "CloudTrailEvent": json.dumps(r)} for r in records()]
    shapes = {
        "log file dict": json.loads(text), "list of records": records(), "JSON text": text, "JSON lines": lines,
        "bytes": text.encode(), "gzip file": gz, "lookup_events items": lookup,
    }
    expected = [(e.source, e.name, e.resources, e.identity) for e in read_activity(LOG)]
    assert len(expected) == len(records())
    for shape, source in shapes.items():
        log = read_activity(source)
        assert [(e.source, e.name, e.resources, e.identity) for e in log] == expected, shape
        assert log.problems == (), shape


def test_records_know_where_they_are_in_the_text() -> None:
    log = read_activity(LOG.read_text())
    third = log.events[2]
    assert third.path == ("Records", 2) and third.line is not None
    assert LOG.read_text().splitlines()[third.line - 1].strip() == "{"
    assert third.where == f"Records[2], line {third.line}"
    assert read_activity(records()).events[2].where == "[2]"


def test_a_broken_line_is_reported_by_number_and_the_rest_is_read() -> None:
    log = read_activity(LINES.read_text())
    (problem,) = log.problems
    assert problem.line == 4 and problem.severity == "error"
    assert problem.message.startswith("line 4 is not valid JSON")
    assert len(log) == len(records())  # line 4 was an extra, truncated copy


def test_a_log_that_is_not_json_says_where_and_what_to_give() -> None:
    with pytest.raises(ActivityError) as caught:
        read_activity('{"Records": [\n  {"eventSource": "s3.amazonaws.com",}\n]}')
    (problem,) = caught.value.problems
    assert (problem.line, problem.column) == (2, 38)
    assert "Records" in (problem.hint or "")
    with pytest.raises(ActivityError, match="pathlib.Path"):
        read_activity(str(LOG))  # a file name given as text
    with pytest.raises(ActivityError, match="not an activity log"):
        read_activity({"UserDetailList": []})


def test_records_without_a_service_or_call_are_skipped_and_located() -> None:
    log = read_activity({"Records": [record(), {"eventName": "GetObject"}, 42]})
    assert len(log) == 1
    assert [(p.path, p.message) for p in log.problems] == [
        ("Records[1]", "the record has no `eventSource`; it is skipped"),
        ("Records[2]", "a record must be an object, not a number; it is skipped"),
    ]


# ── from an API call to an action ─────────────────────────────────────────────────


@pytest.mark.parametrize(("source", "name", "actions"), [
    ("s3.amazonaws.com", "GetObject", ("s3:GetObject",)),
    ("execute-api.amazonaws.com", "Invoke", ("execute-api:Invoke",)),
    ("monitoring.amazonaws.com", "PutMetricData", ("cloudwatch:PutMetricData",)),
    ("email.amazonaws.com", "SendEmail", ("ses:SendEmail",)),
    ("streams.dynamodb.amazonaws.com", "GetRecords", ("dynamodb:GetRecords",)),
    ("tagging.amazonaws.com", "GetResources", ("tag:GetResources",)),
    ("s3.amazonaws.com", "ListObjects", ("s3:ListBucket",)),
    ("s3.amazonaws.com", "ListObjectsV2", ("s3:ListBucket",)),
    ("s3.amazonaws.com", "HeadObject", ("s3:GetObject",)),
    ("s3.amazonaws.com", "ListBuckets", ("s3:ListAllMyBuckets",)),
    ("lambda.amazonaws.com", "Invoke", ("lambda:InvokeFunction",)),
    ("lambda.amazonaws.com", "CreateFunction20150331", ("lambda:CreateFunction",)),
    ("lambda.amazonaws.com", "UpdateFunctionCode20150331v2", ("lambda:UpdateFunctionCode",)),
    ("sts.amazonaws.com", "GetCallerIdentity", ()),
])
def test_event_source_and_name_give_the_action(source: str, name: str, actions: tuple[str, ...]) -> None:
    assert event_actions(source, name) == actions


def test_the_exception_tables_name_real_actions_for_sources_that_need_them() -> None:
    catalog = pytest.importorskip("iamkit.account.catalog")
    try:
        cat = catalog.catalog()
    except catalog.CatalogError:
        pytest.skip("the action catalog's data is not installed")
    for source, prefix in SERVICE_PREFIXES.items():
        assert cat.service(prefix) is not None, prefix
        assert cat.service(source.split(".")[0]) is None, f"{source} needs no exception"
    for (prefix, name), actions in EVENT_ACTIONS.items():
        for action in actions:
            assert cat.action(action) is not None, action
        assert cat.action(f"{prefix}:{name}") is None or (prefix, name) == ("lambda", "Invoke") or \
            cat.action(f"{prefix}:{name}").name in actions, f"{prefix}:{name} needs no exception"
    assert service_prefix("S3.amazonaws.com") == "s3"

