"""Activity logs: CloudTrail records, read for what they say about permissions.

:func:`read_activity` reads a log in every shape CloudTrail and its APIs give it (a log
file, a list of records, JSON lines, ``lookup_events`` items, gzip-compressed bytes or a
path) into an :class:`ActivityLog` of :class:`ActivityEvent` records; a record that cannot
be read is skipped and reported with where it is.

From an API call to an action: the service prefix is the first label of ``eventSource``
(``s3.amazonaws.com`` → ``s3``) except for the services in :data:`SERVICE_PREFIXES`, and
the action is ``eventName`` except for the calls in :data:`EVENT_ACTIONS` (``ListObjects``
needs ``s3:ListBucket``); :func:`event_actions` does both. Each record also names its
resources (``resources[].ARN``, and ARNs built from ``requestParameters``) and whose
permissions it used: a user, or for an assumed-role session the role.

:mod:`iamkit.analysis.least_privilege` builds on it.

Sources:
    https://docs.aws.amazon.com/awscloudtrail/latest/userguide/cloudtrail-event-reference-record-contents.html
    https://docs.aws.amazon.com/awscloudtrail/latest/userguide/cloudtrail-event-reference-user-identity.html
"""

from __future__ import annotations

import os
import re
from dataclasses import dataclass, field, replace
from datetime import datetime, timezone
from typing import Any, Iterable, Iterator, Mapping

from ..engine.evaluator import ALWAYS_ALLOWED
from ..engine.jsonpos import Positions
from ..engine.principals import CallerKind, parse_caller
from ..engine.reading import MAX_EXPORT_BYTES, decode, expand, load_json, read_bytes
from ..errors import ActivityError, InputError, Problem, format_path, json_type, suggest

__all__ = [
    "ActivityError",
    "ActivityEvent",
    "ActivityLog",
    "EVENT_ACTIONS",
    "NO_PERMISSION_NEEDED",
    "SERVICE_PREFIXES",
    "event_actions",
    "made_by",
    "no_activity_problem",
    "principal_filter",
    "read_activity",
    "read_log_bytes",
    "service_prefix",
]

SERVICE_PREFIXES: Mapping[str, str] = {
    "monitoring.amazonaws.com": "cloudwatch",
    "email.amazonaws.com": "ses",
    "streams.dynamodb.amazonaws.com": "dynamodb",
    "tagging.amazonaws.com": "tag",
}
"""``eventSource`` values whose first label is not the service prefix IAM uses in actions.

Every other source maps to its first label: ``s3.amazonaws.com`` → ``s3``,
``execute-api.amazonaws.com`` → ``execute-api``."""

EVENT_ACTIONS: Mapping[tuple[str, str], tuple[str, ...]] = {
    ("s3", "ListObjects"): ("s3:ListBucket",),
    ("s3", "ListObjectsV2"): ("s3:ListBucket",),
    ("s3", "HeadBucket"): ("s3:ListBucket",),
    ("s3", "ListObjectVersions"): ("s3:ListBucketVersions",),
    ("s3", "ListBuckets"): ("s3:ListAllMyBuckets",),
    ("s3", "HeadObject"): ("s3:GetObject",),
    ("s3", "CopyObject"): ("s3:PutObject",),
    ("s3", "CreateMultipartUpload"): ("s3:PutObject",),
    ("s3", "UploadPart"): ("s3:PutObject",),
    ("s3", "UploadPartCopy"): ("s3:PutObject",),
    ("s3", "CompleteMultipartUpload"): ("s3:PutObject",),
    ("s3", "DeleteObjects"): ("s3:DeleteObject",),
    ("s3", "ListMultipartUploads"): ("s3:ListBucketMultipartUploads",),
    ("s3", "ListParts"): ("s3:ListMultipartUploadParts",),
    ("s3", "GetBucketEncryption"): ("s3:GetEncryptionConfiguration",),
    ("s3", "PutBucketEncryption"): ("s3:PutEncryptionConfiguration",),
    ("s3", "GetBucketLifecycle"): ("s3:GetLifecycleConfiguration",),
    ("s3", "GetBucketLifecycleConfiguration"): ("s3:GetLifecycleConfiguration",),
    ("s3", "PutBucketLifecycle"): ("s3:PutLifecycleConfiguration",),
    ("s3", "PutBucketLifecycleConfiguration"): ("s3:PutLifecycleConfiguration",),
    ("lambda", "Invoke"): ("lambda:InvokeFunction",),
}
"""API calls (service prefix, ``eventName``) whose IAM action has another name. Lambda's
versioned event names (``CreateFunction20150331``) lose their date suffix first."""

NO_PERMISSION_NEEDED: frozenset[tuple[str, str]] = frozenset({("sts", "GetCallerIdentity")})
"""Calls AWS allows whatever the policies say: a generated policy needs nothing for them."""

API_CALL = "AwsApiCall"
"""The ``eventType`` of a call made by a principal; service events and console sign-ins are
not calls a policy grants."""

_LAMBDA_VERSION = re.compile(r"^(.+?)(?:20\d{6})(?:v\d+)?$")
_AUTHORIZATION_ERROR = re.compile(r"accessdenied|unauthorized|notauthorized|forbidden|authorizationerror", re.I)
_SQS_URL = re.compile(r"^https://[^/]+/(\d{12})/([^/?#]+)")

# ── the activity log ──────────────────────────────────────────────────────────────


@dataclass(frozen=True)
class ActivityEvent:
    """One CloudTrail record, read for what it says about permissions.

    Attributes:
        index: the record's place in the log (0-based).
        path: its JSON path: ``("Records", 3)`` in a log file, ``(3,)`` in a list, ``()``
            on its own JSON line.
        line, column: where it starts in the text, when the log came as text.
        source: ``eventSource``, such as ``s3.amazonaws.com``.
        name: ``eventName``, such as ``GetObject``.
        actions: the IAM actions the call needed (usually one; none for calls that need no
            permission or are not API calls).
        resources: the ARNs the record names (``resources[].ARN``, and ARNs built from
            ``requestParameters`` for S3, DynamoDB, Lambda, SQS and SNS), as logged; a
            generated policy writes ``*``, ``?`` and ``${`` in them as ``${*}``, ``${?}``
            and ``${$}{`` so they stay literal.
        arn: ``userIdentity.arn``: the user, the session, the root.
        identity: who the permissions belong to: the user's ARN, or for an assumed-role
            session the role's ARN (``sessionContext.sessionIssuer.arn``).
        identity_type: ``userIdentity.type`` (``IAMUser``, ``AssumedRole``, ``Root``, …).
        event_type: ``eventType`` (``AwsApiCall`` for calls a principal made).
        error_code: ``errorCode`` when the call failed, else None.
        time: ``eventTime``, when readable.
        region: ``awsRegion``.
        record: the record as read.
    """

    index: int
    path: tuple[str | int, ...]
    line: int | None
    column: int | None
    source: str
    name: str
    actions: tuple[str, ...]
    resources: tuple[str, ...]
    arn: str | None
    identity: str | None
    identity_type: str | None
    event_type: str | None
    error_code: str | None
    time: datetime | None
    region: str | None
    record: Mapping[str, Any] = field(repr=False, compare=False)

    @property
    def denied(self) -> bool:
        """True when the call failed authorization (``AccessDenied`` and its kin)."""
        return bool(self.error_code and _AUTHORIZATION_ERROR.search(self.error_code))

    @property
    def is_api_call(self) -> bool:
        """True for calls a principal made (``eventType`` ``AwsApiCall``, or no ``eventType``)."""
        return self.event_type in (None, API_CALL)

    @property
    def where(self) -> str:
        """``Records[3], line 40`` (or ``line 4`` of JSON lines): how a person finds the record."""
        parts = [format_path(self.path)] if self.path else []
        if self.line is not None:
            parts.append(f"line {self.line}")
        return ", ".join(parts) or f"record {self.index}"

    def problem(self, element: str | None, message: str, hint: str | None = None,
                severity: str = "warning") -> Problem:
        """A located problem about this record (or one of its elements)."""
        path = self.path + ((element,) if element else ())
        return Problem(format_path(path), message, hint, self.line, self.column, severity)

    def __str__(self) -> str:
        outcome = f" — {self.error_code}" if self.error_code else ""
        return f"{self.source} {self.name} by {self.arn or self.identity_type or 'unknown'}{outcome}"


@dataclass(frozen=True)
class ActivityLog:
    """The readable records of an activity log, and what could not be read.

    Attributes:
        events: every readable record, in log order.
        problems: records that could not be read (each skipped), with line numbers for
            JSON-lines text.
    """

    events: tuple[ActivityEvent, ...]
    problems: tuple[Problem, ...] = ()

    def __iter__(self) -> Iterator[ActivityEvent]:
        return iter(self.events)

    def __len__(self) -> int:
        return len(self.events)

    def principals(self) -> list[str]:
        """Every identity (user ARN, or role ARN for sessions) that made a call, sorted."""
        return sorted({e.identity for e in self.events if e.identity})

    def __repr__(self) -> str:
        skipped = f", {len(self.problems)} unreadable" if self.problems else ""
        return f"<ActivityLog {len(self.events)} records{skipped}>"


def read_log_bytes(path: str | os.PathLike[str]) -> bytes:
    """The bytes of a file (``-``: standard input), expanded when gzip-compressed, at most
    :data:`~iamkit.engine.reading.MAX_EXPORT_BYTES`; raises :class:`ActivityError` when it cannot be read."""
    try:
        return read_bytes(path, limit=MAX_EXPORT_BYTES)
    except InputError as exc:
        raise ActivityError(exc.problems) from None


def _text_of(source: Any) -> str | None:
    """The text of a path, bytes or str source (gzip-compressed files included)."""
    if isinstance(source, os.PathLike):
        source = read_log_bytes(source)
    if isinstance(source, bytes):
        try:
            source = expand(source, limit=MAX_EXPORT_BYTES, name="the log")
        except InputError as exc:
            raise ActivityError(exc.problems) from None
        try:
            return decode(source)
        except InputError as exc:
            raise ActivityError([replace(p, hint="CloudTrail writes JSON log files, gzip-compressed")
                                 for p in exc.problems]) from None
    return source if isinstance(source, str) else None


def read_activity(source: Any) -> ActivityLog:
    """Read an activity log of CloudTrail records.

    Args:
        source: a CloudTrail log file as a dict (``{"Records": [...]}``), a list of records,
            JSON text of either, JSON-lines text (one record per line), bytes of any of
            these (gzip-compressed too), a path to such a file, or an :class:`ActivityLog`.
            Items of ``lookup_events`` (``{"CloudTrailEvent": "<json>"}``) are read too.

    Returns:
        The readable records; a record that cannot be read is skipped and reported in
        ``problems`` with its JSON path, or its line number for JSON lines.

    Raises:
        ActivityError: when the source as a whole is not such a log.
    """
    if isinstance(source, ActivityLog):
        return source
    text = _text_of(source)
    if text is None:
        return _read_document(source, None)
    try:
        document, positions = load_json(text, limit=MAX_EXPORT_BYTES)
    except InputError as whole:
        first = next((line for line in text.splitlines() if line.strip()), "")
        problem = whole.problems[0]
        if problem.message.startswith("not valid JSON"):
            try:
                load_json(first)
            except InputError:
                hint = _LOG_HINT
                if "\n" not in text.strip() and os.path.exists(text.strip()):
                    hint = f"`{text.strip()}` is a file name: to read the file, pass `pathlib.Path({text.strip()!r})`"
                raise ActivityError([replace(problem, hint=hint)]) from None
            return _read_lines(text)
        raise ActivityError(whole.problems) from None
    return _read_document(document, positions)


_LOG_HINT = "give a CloudTrail log file (`{\"Records\": [...]}`), a JSON list of records, or one record per line"


def _read_document(document: Any, positions: Positions | None) -> ActivityLog:
    if isinstance(document, Mapping) and isinstance(document.get("Records"), list):
        items: Iterable[tuple[tuple[str | int, ...], Any]] = ((("Records", i), r) for i, r in enumerate(document["Records"]))
    elif isinstance(document, Mapping) and ("eventName" in document or "CloudTrailEvent" in document):
        items = [((), document)]
    elif isinstance(document, (list, tuple)):
        items = (((i,), r) for i, r in enumerate(document))
    else:
        raise ActivityError([Problem("$", f"not an activity log: {json_type(document)} is neither "
                                     "`{\"Records\": [...]}` nor a list of CloudTrail records", _LOG_HINT)])
    events: list[ActivityEvent] = []
    problems: list[Problem] = []
    for index, (path, raw) in enumerate(items):
        where = positions.of(path) if positions is not None else None
        line, column = where if where else (None, None)
        _add_record(raw, index, path, line, column, events, problems)
    return ActivityLog(tuple(events), tuple(problems))


def _read_lines(text: str) -> ActivityLog:
    events: list[ActivityEvent] = []
    problems: list[Problem] = []
    index = 0
    for number, line in enumerate(text.splitlines(), 1):
        if not line.strip():
            continue
        try:
            raw, _ = load_json(line)
        except InputError as exc:
            first = exc.problems[0]
            message = first.message if first.message.startswith("not valid JSON") else f"not readable: {first.message}"
            problems.append(Problem(first.path, f"line {number} is {message}; the record is skipped",
                                    "write one CloudTrail record per line", number, first.column))
            continue
        column = len(line) - len(line.lstrip()) + 1
        if isinstance(raw, Mapping) and isinstance(raw.get("Records"), list):
            for i, record in enumerate(raw["Records"]):
                _add_record(record, index, ("Records", i), number, column, events, problems)
                index += 1
            continue
        _add_record(raw, index, (), number, column, events, problems)
        index += 1
    return ActivityLog(tuple(events), tuple(problems))


def _add_record(raw: Any, index: int, path: tuple[str | int, ...], line: int | None, column: int | None,
                events: list[ActivityEvent], problems: list[Problem]) -> None:
    where = format_path(path) if path else "$"
    if isinstance(raw, Mapping) and isinstance(raw.get("CloudTrailEvent"), str) and "eventName" not in raw:
        try:
            raw, _ = load_json(raw["CloudTrailEvent"])
        except InputError as exc:
            message = exc.problems[0].message.removeprefix("not valid JSON: ")
            problems.append(Problem(format_path(path + ("CloudTrailEvent",)),
                                    f"`CloudTrailEvent` is not valid JSON: {message}; the record is skipped",
                                    None, line, column))
            return
    if not isinstance(raw, Mapping):
        problems.append(Problem(where, f"a record must be an object, not {json_type(raw)}; it is skipped", None, line, column))
        return
    missing = [k for k in ("eventSource", "eventName") if not isinstance(raw.get(k), str) or not raw.get(k)]
    if missing:
        names = " and ".join(f"`{k}`" for k in missing)
        problems.append(Problem(where, f"the record has no {names}; it is skipped",
                                "every CloudTrail record names the service (`eventSource`) and the call (`eventName`)",
                                line, column))
        return
    if raw.get("resources") is not None and not isinstance(raw["resources"], list):
        problems.append(Problem(format_path(path + ("resources",)),
                                f"`resources` must be a list of objects, not {json_type(raw['resources'])}; "
                                "the record is skipped", 'CloudTrail writes `"resources": [{"ARN": "arn:…"}]`',
                                line, column))
        return
    events.append(_event(raw, index, path, line, column))


def service_prefix(event_source: str) -> str:
    """The IAM service prefix of an ``eventSource`` (``monitoring.amazonaws.com`` → ``cloudwatch``)."""
    source = event_source.strip().lower()
    if source in SERVICE_PREFIXES:
        return SERVICE_PREFIXES[source]
    return source.split(".", 1)[0]


def event_actions(event_source: str, event_name: str) -> tuple[str, ...]:
    """The IAM actions an API call needs, as far as its name tells (see :data:`EVENT_ACTIONS`)."""
    prefix = service_prefix(event_source)
    name = event_name.strip()
    if prefix == "lambda":
        m = _LAMBDA_VERSION.match(name)
        if m:
            name = m.group(1)
    if (prefix, name) in NO_PERMISSION_NEEDED or f"{prefix}:{name}".lower() in ALWAYS_ALLOWED:
        return ()
    return EVENT_ACTIONS.get((prefix, name), (f"{prefix}:{name}",))


def _object(value: Any) -> Mapping[str, Any]:
    return value if isinstance(value, Mapping) else {}


def _string(value: Any) -> str | None:
    return value if isinstance(value, str) and value else None


def _event(raw: Mapping[str, Any], index: int, path: tuple[str | int, ...], line: int | None,
           column: int | None) -> ActivityEvent:
    identity = _object(raw.get("userIdentity"))
    arn = _string(identity.get("arn"))
    issuer = _object(_object(identity.get("sessionContext")).get("sessionIssuer"))
    caller = parse_caller(arn) if arn else None
    owner = arn
    if _string(issuer.get("arn")) and issuer.get("type", "Role") == "Role":
        owner = issuer["arn"]
    elif caller is not None and caller.kind is CallerKind.ASSUMED_ROLE:
        owner = caller.role_arn
    source, name = raw["eventSource"], raw["eventName"]
    region = _string(raw.get("awsRegion"))
    account = _string(raw.get("recipientAccountId")) or _string(identity.get("accountId")) or (
        caller.account if caller else "")
    partition = caller.partition if caller else "aws"
    error = raw.get("errorCode")
    return ActivityEvent(
        index=index, path=path, line=line, column=column, source=source, name=name,
        actions=event_actions(source, name),
        resources=tuple(sorted(set(_resources(raw, service_prefix(source), partition, region, account)))),
        arn=arn, identity=owner, identity_type=_string(identity.get("type")), event_type=_string(raw.get("eventType")),
        error_code=str(error) if error else None, time=_time(raw.get("eventTime")), region=region, record=raw,
    )


def _time(text: Any) -> datetime | None:
    if not isinstance(text, str):
        return None
    try:
        value = datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        return None
    return value if value.tzinfo else value.replace(tzinfo=timezone.utc)


def _resources(raw: Mapping[str, Any], prefix: str, partition: str, region: str | None, account: str) -> Iterator[str]:
    """The ARNs a record names: ``resources[].ARN``, then ARNs built from ``requestParameters``."""
    for item in raw.get("resources") or ():
        if isinstance(item, Mapping) and isinstance(item.get("ARN"), str) and item["ARN"].startswith("arn:"):
            yield item["ARN"]
    params = raw.get("requestParameters")
    if not isinstance(params, Mapping):
        return
    region = region or ""
    if prefix == "s3" and isinstance(params.get("bucketName"), str):
        bucket = params["bucketName"]
        key = params.get("key")
        yield (f"arn:{partition}:s3:::{bucket}/{key}" if isinstance(key, str) and key else
               f"arn:{partition}:s3:::{bucket}")
    elif prefix == "dynamodb" and isinstance(params.get("tableName"), str):
        table = params["tableName"]
        yield table if table.startswith("arn:") else f"arn:{partition}:dynamodb:{region}:{account}:table/{table}"
    elif prefix == "lambda" and isinstance(params.get("functionName"), str):
        fn = params["functionName"]
        yield fn if fn.startswith("arn:") else f"arn:{partition}:lambda:{region}:{account}:function:{fn}"
    elif prefix == "sqs" and isinstance(params.get("queueUrl"), str):
        m = _SQS_URL.match(params["queueUrl"])
        if m:
            yield f"arn:{partition}:sqs:{region}:{m.group(1)}:{m.group(2)}"
    elif prefix == "sns" and isinstance(params.get("topicArn"), str) and params["topicArn"].startswith("arn:"):
        yield params["topicArn"]


# ── whose activity ──────────────────────────────────────────────────────────────────


def principal_filter(principal: str | None) -> str | None:
    """Check a principal ARN to filter by; raises with a hint when it cannot match."""
    if principal is None:
        return None
    caller = parse_caller(principal)
    if caller is None or caller.kind is CallerKind.SERVICE:
        raise ActivityError([Problem("principal", f"`{principal}` is not the ARN of a user, role or session",
                                     "use `arn:aws:iam::ACCOUNT:user/NAME`, `arn:aws:iam::ACCOUNT:role/NAME` or a "
                                     "session's `arn:aws:sts::ACCOUNT:assumed-role/ROLE/SESSION`")])
    return principal


def made_by(event: ActivityEvent, principal: str) -> bool:
    """Whether the event's caller is the principal: the user, the session, or a session of the role."""
    if event.arn == principal or event.identity == principal:
        return True
    wanted = parse_caller(principal)
    if wanted is None or wanted.kind is not CallerKind.ROLE or not event.arn:
        return False
    caller = parse_caller(event.arn)
    # A session without sessionIssuer names only the role's name, not its path.
    return (caller is not None and caller.kind is CallerKind.ASSUMED_ROLE and caller.account == wanted.account
            and caller.name == wanted.name and event.identity == caller.role_arn)


def no_activity_problem(principal: str, log: ActivityLog) -> Problem:
    """The problem to report when ``log`` holds no call by ``principal``, with the likeliest fix."""
    seen = log.principals()
    hint = suggest(principal, seen) or ("principals in the log: " + ", ".join(f"`{p}`" for p in seen[:5])
                                        if seen else "the log holds no calls made by a user or role")
    return Problem("principal", f"the log holds no calls made by `{principal}`", hint)
