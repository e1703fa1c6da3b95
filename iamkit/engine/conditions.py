"""Condition operators: one registry of small base operators, wrapped in one place.

Each base operator only answers "does this one context value match this one policy
value?". Everything else AWS documents is applied uniformly by :meth:`BoundCondition.evaluate`
(a condition bound once, its values prepared, for many requests; :func:`evaluate_condition`
binds and evaluates in one go):

- several values of one key are ORed (a negated operator is true when *no* value
  matches: NOR);
- a missing key makes a positive operator false and a negated operator true;
- ``…IfExists`` is true when the key is missing;
- ``ForAnyValue:``/``ForAllValues:`` compare every value of a multivalued key
  (``ForAllValues`` is true for a missing key, ``ForAnyValue`` false);
- ``Null`` tests only whether the key is present;
- policy variables are substituted in the values of the operators that support them,
  only in policies with ``Version`` ``2012-10-17``; a variable with no value matches
  nothing, so a negated operator against it is true;
- a substituted value that is not a value of the operator's family (``Bool`` against
  ``maybe``) matches nothing, and makes a negated operator false: it fails closed.
"""

from __future__ import annotations

import re
from datetime import datetime, timezone
from decimal import Decimal
from functools import lru_cache
from typing import TYPE_CHECKING, Any, Callable, Mapping, NamedTuple, Sequence

from .matching import arn_matcher, glob_matcher, pieces_matcher
from .variables import Multivalued, Unresolved, parse_template, resolve

if TYPE_CHECKING:
    import ipaddress

__all__ = [
    "BoundCondition",
    "ConditionResult",
    "EPOCH_SECONDS",
    "OPERATORS",
    "Operator",
    "OperatorSpec",
    "TYPED_CONTEXT_KEYS",
    "context_value_problem",
    "evaluate_condition",
    "parse_operator",
    "policy_value_text",
]

ContextValue = str | list[str]


class Operator(NamedTuple):
    """A base condition operator such as ``StringLike``.

    Attributes:
        name: the operator's name.
        family: String, Numeric, Date, Bool, Binary, IpAddress, Arn or Null.
        negated: True for ``StringNotEquals`` and the other "Not" operators.
        prepare: turns a policy value into what ``compare`` needs; raises ValueError when
            the value cannot be one of this family's values.
        compare: ``compare(context_value, prepared_policy_value) -> bool``, the positive test.
        variables: whether policy variables are substituted in its values.
        pattern: ``"glob"``, ``"arn"`` or ``""``: how a value with variables is compiled.
    """

    name: str
    family: str
    negated: bool
    prepare: Callable[[str], Any]
    compare: Callable[[str, Any], bool]
    variables: bool
    pattern: str = ""


def policy_value_text(value: object) -> str:
    """A JSON condition value as AWS reads it: ``true`` → ``"true"``, ``5`` → ``"5"``."""
    if value is True:
        return "true"
    if value is False:
        return "false"
    return value if isinstance(value, str) else str(value)


# ASCII only: Python's float() and int() also read "٣", "1_000" and "nan", which AWS does not.
_NUMBER = re.compile(r"[+-]?[0-9]+(\.[0-9]+)?([eE][+-]?[0-9]+)?", re.ASCII)
EPOCH_SECONDS = re.compile(r"-?[0-9]+(\.[0-9]+)?", re.ASCII)
"""A Date condition value written as epoch seconds (the policy validator checks their range)."""
# W3C's "year and month" (1997-07), one of the ISO 8601 formats AWS accepts; fromisoformat refuses it.
_YEAR_MONTH = re.compile(r"([0-9]{4})-([0-9]{2})", re.ASCII)


@lru_cache(maxsize=4096)  # as for dates below: a request's number is read by each of its conditions
def _number(text: str) -> Decimal:
    """The exact value of an integer or decimal: as floats, 9007199254740993 would equal
    9007199254740992, 0.1 would equal 0.10000000000000001, and 1e400 would equal 1e500."""
    text = text.strip()
    if not _NUMBER.fullmatch(text):
        raise ValueError(text)
    try:
        return Decimal(text)
    except ArithmeticError as exc:  # an exponent beyond any decimal's range, such as 1e99999999999999999999
        raise ValueError(text) from exc


@lru_cache(maxsize=4096)  # a request's date is read again for every Date condition and its note
def _date(text: str) -> float:
    text = text.strip()
    if EPOCH_SECONDS.fullmatch(text):
        return float(text)
    if not text.isascii():
        raise ValueError(text)
    month = _YEAR_MONTH.fullmatch(text)
    if month:  # its first instant, as a date alone reads as its midnight
        return datetime(int(month[1]), int(month[2]), 1, tzinfo=timezone.utc).timestamp()
    iso = text[:-1] + "+00:00" if text.endswith(("Z", "z")) else text
    moment = datetime.fromisoformat(iso)
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=timezone.utc)
    return moment.timestamp()


def _bool(text: str) -> str:
    lowered = text.lower()
    if lowered not in ("true", "false"):
        raise ValueError(text)
    return lowered


# base64 and ipaddress are imported where they are used: few policies compare binary values
# or addresses, and ``import iamkit`` (the batch command line's start-up) saves 2 ms without them.
def _binary(text: str) -> bytes:
    import base64
    import binascii

    try:
        return base64.b64decode(text, validate=True)
    except binascii.Error as exc:
        raise ValueError(text) from exc


@lru_cache(maxsize=4096)
def _network(text: str) -> ipaddress.IPv4Network | ipaddress.IPv6Network:
    import ipaddress

    return ipaddress.ip_network(text.strip(), strict=False)


@lru_cache(maxsize=4096)  # as for dates: one request address, read by each IpAddress condition
def _ip_address(text: str) -> ipaddress.IPv4Address | ipaddress.IPv6Address:
    import ipaddress

    return ipaddress.ip_address(text)


def _ip_in(context: str, network: Any) -> bool:
    try:
        address = _ip_address(context.strip().split("/")[0])
    except ValueError:
        return False
    return address.version == network.version and address in network


def _numeric_compare(test: Callable[[Decimal, Decimal], bool]) -> Callable[[str, Any], bool]:
    def compare(context: str, policy: Decimal) -> bool:
        try:
            return test(_number(context), policy)
        except ValueError:
            return False

    return compare


def _date_compare(test: Callable[[float, float], bool]) -> Callable[[str, Any], bool]:
    def compare(context: str, policy: float) -> bool:
        try:
            return test(_date(context), policy)
        except ValueError:
            return False

    return compare


def _safe(prepare: Callable[[str], Any]) -> Callable[[str, Any], bool]:
    """compare() for families whose context value must be parsed like the policy value."""

    def compare(context: str, policy: Any) -> bool:
        try:
            return prepare(context) == policy
        except ValueError:
            return False

    return compare


def _matches(context: str, matcher: Any) -> bool:
    return bool(matcher(context))


def _identity(text: str) -> str:
    return text


def _casefold(text: str) -> str:
    return text.casefold()


def _registry() -> dict[str, Operator]:
    ops: list[Operator] = []

    def pair(name: str, not_name: str, family: str, prepare: Callable[[str], Any],
             compare: Callable[[str, Any], bool], variables: bool, pattern: str = "") -> None:
        ops.append(Operator(name, family, False, prepare, compare, variables, pattern))
        ops.append(Operator(not_name, family, True, prepare, compare, variables, pattern))

    pair("StringEquals", "StringNotEquals", "String", _identity, lambda c, p: c == p, True)
    pair("StringEqualsIgnoreCase", "StringNotEqualsIgnoreCase", "String", _casefold,
         lambda c, p: c.casefold() == p, True)
    pair("StringLike", "StringNotLike", "String", glob_matcher, _matches, True, "glob")
    for suffix, test in (
        ("Equals", lambda a, b: a == b),
        ("LessThan", lambda a, b: a < b),
        ("LessThanEquals", lambda a, b: a <= b),
        ("GreaterThan", lambda a, b: a > b),
        ("GreaterThanEquals", lambda a, b: a >= b),
    ):
        ops.append(Operator(f"Numeric{suffix}", "Numeric", False, _number, _numeric_compare(test), False))
        ops.append(Operator(f"Date{suffix}", "Date", False, _date, _date_compare(test), False))
    ops.append(Operator("NumericNotEquals", "Numeric", True, _number, _numeric_compare(lambda a, b: a == b), False))
    ops.append(Operator("DateNotEquals", "Date", True, _date, _date_compare(lambda a, b: a == b), False))
    ops.append(Operator("Bool", "Bool", False, _bool, _safe(_bool), True))
    ops.append(Operator("BinaryEquals", "Binary", False, _binary, _safe(_binary), False))
    pair("IpAddress", "NotIpAddress", "IpAddress", _network, _ip_in, False)
    pair("ArnEquals", "ArnNotEquals", "Arn", arn_matcher, _matches, True, "arn")
    pair("ArnLike", "ArnNotLike", "Arn", arn_matcher, _matches, True, "arn")
    ops.append(Operator("Null", "Null", False, _bool, lambda c, p: False, False))
    return {op.name: op for op in ops}


OPERATORS: Mapping[str, Operator] = _registry()
"""Every base operator by name."""


class OperatorSpec(NamedTuple):
    """A condition operator as written: base operator plus ``IfExists`` and set qualifier."""

    text: str
    base: Operator
    if_exists: bool = False
    qualifier: str = ""  # "", "ForAnyValue" or "ForAllValues"


@lru_cache(maxsize=1024)
def parse_operator(text: str) -> OperatorSpec | None:
    """Parse ``ForAnyValue:StringLikeIfExists`` and friends; None when unknown.

    Operator names are case-sensitive in AWS, and so they are here.
    """
    qualifier, _, name = text.rpartition(":")
    if qualifier not in ("", "ForAnyValue", "ForAllValues"):
        return None
    if_exists = name.endswith("IfExists")
    if if_exists:
        name = name[: -len("IfExists")]
    base = OPERATORS.get(name)
    if base is None or (base.name == "Null" and (if_exists or qualifier)):
        return None
    return OperatorSpec(text, base, if_exists, qualifier)


class ConditionResult(NamedTuple):
    """What one condition (operator, key, values) decided, and from what.

    Attributes:
        operator: the operator as written.
        key: the context key as written in the policy.
        values: the policy's values, as text, after variable substitution; an entry is
            None where a variable had no value.
        context_values: the request's values for the key, or None when it was missing.
        result: True when the condition is satisfied.
        missing: True when the key was not in the request context.
        unresolved: variables that had no value.
        note: a surprise worth showing (a value that could not be compared), or "".
    """

    operator: str
    key: str
    values: tuple[str | None, ...]
    context_values: tuple[str, ...] | None
    result: bool
    missing: bool
    unresolved: tuple[str, ...] = ()
    note: str = ""

    def to_dict(self) -> dict[str, object]:
        """Plain JSON-ready data."""
        return {
            "operator": self.operator,
            "key": self.key,
            "values": list(self.values),
            "contextValues": None if self.context_values is None else list(self.context_values),
            "result": self.result,
            "missing": self.missing,
            "unresolved": list(self.unresolved),
            "note": self.note,
        }


_CONTEXT_PARSERS: dict[str, Callable[[str], Any]] = {
    "Numeric": _number,
    "Date": _date,
    "Bool": _bool,
    "Binary": _binary,
    "IpAddress": _ip_address,
}


# The global condition keys whose values AWS always writes in one type: lower-cased name →
# (operator family, an example value).
# https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_condition-keys.html
_TYPED_GLOBAL_KEYS = {
    "aws:sourceip": ("IpAddress", "203.0.113.7"),
    "aws:currenttime": ("Date", "2025-01-31T12:00:00Z"),
    "aws:epochtime": ("Date", "1738324800"),
    "aws:tokenissuetime": ("Date", "2025-01-31T12:00:00Z"),
    "aws:multifactorauthage": ("Numeric", "300"),
    "aws:multifactorauthpresent": ("Bool", "true"),
    "aws:securetransport": ("Bool", "true"),
    "aws:viaawsservice": ("Bool", "false"),
    "aws:principalisawsservice": ("Bool", "false"),
}
TYPED_CONTEXT_KEYS = frozenset(_TYPED_GLOBAL_KEYS)
"""The global context keys (lowercase) whose values AWS always writes in one type; only their
values can be what :func:`context_value_problem` refuses."""


def context_value_problem(key: str, value: str) -> tuple[str, str] | None:
    """Why ``value`` cannot be the value of the global key ``key`` in a real request, and
    a hint; None when it can (or when AWS does not fix the key's type).

    AWS itself writes these keys, always in their type: a scenario that gives another value
    describes no request AWS makes, and a negated operator would be true against it.
    """
    if key.lower() not in _TYPED_GLOBAL_KEYS:  # most keys: no cache entry for each of their values
        return None
    return _typed_value_problem(key, value)


@lru_cache(maxsize=4096)
def _typed_value_problem(key: str, value: str) -> tuple[str, str] | None:
    family, example = _TYPED_GLOBAL_KEYS[key.lower()]
    try:
        _CONTEXT_PARSERS[family](value.strip())
    except ValueError:
        return (f"`{value}` is not a valid {family} value, and AWS always gives `{key}` one",
                f"give `{key}` a value such as `{example}`")
    return None


def _context_note(op: Operator, values: tuple[str, ...]) -> str:
    parse = _CONTEXT_PARSERS[op.family]
    for value in values:
        try:
            parse(value.strip())
        except ValueError:
            return f"the request's value `{value}` is not a valid {op.family} value, so it matches nothing"
    return ""


def _prepare_resolved(op: Operator, pieces: list[tuple[str, bool]]) -> Any:
    if op.pattern:
        return pieces_matcher(tuple(pieces), op.pattern == "arn")
    return op.prepare("".join(t for t, _ in pieces))


_INVALID = object()  # a policy value that is not one of the operator's family


def _prepared_or_invalid(op: Operator, text: str) -> Any:
    try:
        return op.prepare(text)
    except ValueError:
        return _INVALID


def _hit(compare: Callable[[str, Any], bool], value: str, prepared: list[Any]) -> bool:
    """Whether a context value matches any of the prepared policy values (they are ORed)."""
    for policy in prepared:
        if compare(value, policy):
            return True
    return False


class BoundCondition:
    """One condition (operator, key, values) bound once: its key lowercased and each policy
    value that holds no variable already prepared, to be evaluated against any number of
    request contexts (:meth:`evaluate`). A prepared policy set binds each condition once;
    :func:`evaluate_condition` binds and evaluates in one go.

    Args:
        spec: the parsed operator.
        key: the condition key as written (matched case-insensitively).
        raw_values: the policy values (JSON scalars).
        substitute: whether policy variables are substituted (``Version`` 2012-10-17).
    """

    __slots__ = ("key", "lowered", "null", "spec", "static", "values")

    def __init__(self, spec: OperatorSpec, key: str, raw_values: Sequence[object], substitute: bool):
        op = spec.base
        self.spec, self.key, self.lowered = spec, key, key.lower()
        texts = tuple([v if v.__class__ is str else policy_value_text(v) for v in raw_values])
        # Null reads only whether the key is there. Each value says whether it wants the key
        # missing; like any values of one key they are ORed, so ["true", "false"] always holds.
        self.null = tuple(t.lower() == "true" for t in texts) or (True,) if op.name == "Null" else None
        # Each value as (text, prepared, template); a template is resolved against each context.
        # Without templates (the common case) the values are the same for every context:
        # ``static`` holds them resolved, as :meth:`_resolved` gives them.
        self.values: tuple[tuple[str, Any, Any], ...] = ()
        self.static: tuple[tuple[str | None, ...], list[Any], tuple[str, ...], str | None] | None = None
        if self.null is not None:
            self.static = (texts, [], (), None)
            return
        variables = substitute and op.variables
        prepared: list[Any] = []
        invalid: str | None = None
        for text in texts:
            if variables and "${" in text:
                self.values = tuple((text, None, parse_template(text)) if "${" in text else
                                    (text, _prepared_or_invalid(op, text), None) for text in texts)
                return
            try:
                prepared.append(op.prepare(text))
            except ValueError:
                invalid = invalid or text
        self.static = (texts, prepared, (), invalid)

    def _resolved(self, context: Mapping[str, ContextValue]) -> tuple[tuple[str | None, ...], list[Any],
                                                                        tuple[str, ...], str | None]:
        """The values as text (None where a variable had no value), the prepared ones, the
        variables with no value, and the first value that is not of the operator's family."""
        op = self.spec.base
        texts: list[str | None] = []
        prepared: list[Any] = []
        unresolved: list[str] = []
        invalid: str | None = None
        for text, value, template in self.values:
            if template is not None:
                resolved = resolve(template, context)
                if isinstance(resolved, Unresolved):
                    unresolved.append(resolved)
                    texts.append(None)
                    continue
                text = "".join(t for t, _ in resolved)
                try:
                    value = _prepare_resolved(op, resolved)
                except ValueError:
                    value = _INVALID
            texts.append(text)
            if value is _INVALID:
                invalid = invalid or text
            else:
                prepared.append(value)
        return tuple(texts), prepared, tuple(unresolved), invalid

    def evaluate(self, context: Mapping[str, ContextValue]) -> ConditionResult:
        """The condition against a request context keyed by lowercase key name."""
        spec = self.spec
        found = context.get(self.lowered)
        if found is None:
            context_values: tuple[str, ...] | None = None
        elif isinstance(found, list):
            context_values = tuple(found) if found else None
        else:
            context_values = (found,)
        missing = context_values is None
        texts, prepared, unresolved, invalid = self.static or self._resolved(context)
        if self.null is not None:
            # An empty value is no value: Null false keeps "context keys with empty values" from
            # matching, and an empty string is an empty data set, as the set operators read it
            # (reference_policies_condition_examples-multi-valued-context-keys.html).
            empty = missing or context_values == ("",)
            # Built as the tuple it is (calling a NamedTuple class runs its __new__ as Python); the defaults
            # of its last two fields are written out.
            return tuple.__new__(ConditionResult, (spec.text, self.key, texts, context_values, empty in self.null,
                                                   missing, (), ""))
        op = spec.base
        note = ""
        if invalid is not None:
            # Validation rejects such values as written, so this is a substituted value (or one
            # handed to this function unvalidated). It must not make a negated operator true —
            # that would fail open — so the condition fails closed instead.
            note = f"`{invalid}` is not a valid {op.family} value, so it matches nothing"
            if op.negated:
                note += f", and `{spec.text}` is false rather than true"
        for name in unresolved:
            if isinstance(name, Multivalued) and not note:
                note = name.note

        # A set operator reads an empty string as an empty set (a "null dataset").
        qualifier = spec.qualifier
        if missing or (qualifier and context_values == ("",)):
            if spec.if_exists or qualifier == "ForAllValues":
                result = True
            elif qualifier == "ForAnyValue":
                result = False
            else:
                result = op.negated and invalid is None
            return tuple.__new__(ConditionResult, (spec.text, self.key, texts, context_values, result, missing,
                                                   unresolved, note))

        compare, negated = op.compare, op.negated
        assert context_values is not None
        if qualifier == "ForAllValues":
            result = all(_hit(compare, v, prepared) != negated for v in context_values)
        elif qualifier == "ForAnyValue":
            result = any(_hit(compare, v, prepared) != negated for v in context_values)
        elif len(context_values) == 1:
            result = _hit(compare, context_values[0], prepared) != negated
        else:
            result = any(_hit(compare, v, prepared) for v in context_values) != negated
            if not note:
                note = (f"`{self.key}` has several values but `{spec.text}` compares one value; iamkit matches when "
                        "any value matches — write `ForAnyValue:` or `ForAllValues:` to say which you mean")
        if invalid is not None and negated:
            result = False
        if not note and op.family in _CONTEXT_PARSERS:
            note = _context_note(op, context_values)
        return tuple.__new__(ConditionResult, (spec.text, self.key, texts, context_values, result, False, unresolved,
                                               note))


def evaluate_condition(
    spec: OperatorSpec,
    key: str,
    raw_values: Sequence[object],
    context: Mapping[str, ContextValue],
    substitute: bool,
) -> ConditionResult:
    """Evaluate one key of one operator against the request context.

    Args:
        spec: the parsed operator.
        key: the condition key as written (matched case-insensitively).
        raw_values: the policy values (JSON scalars).
        context: the request context keyed by lowercase key name.
        substitute: whether policy variables are substituted (``Version`` 2012-10-17).
    """
    return BoundCondition(spec, key, raw_values, substitute).evaluate(context)
