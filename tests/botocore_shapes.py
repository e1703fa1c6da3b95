"""A strict check of a response against a botocore output shape, shared by the tests of
iamkit's AWS-shaped APIs (the IAM simulator, Access Analyzer's generated policy)."""

from __future__ import annotations

import re
from datetime import datetime
from typing import Any, Mapping

from botocore.model import Shape


def shape_errors(value: Any, shape: Shape, path: str = "$", *,
                 extra_enums: Mapping[str, set[str]] | None = None) -> list[str]:
    """Every way ``value`` departs from ``shape``: unknown or missing members, wrong types,
    enum values, string lengths and patterns, integer ranges, timestamps as boto3 gives them.

    Args:
        extra_enums: values the service really returns that botocore's enum of that shape
            name does not list.
    """
    kind, meta = shape.type_name, shape.metadata

    def walk(item: Any, child: Shape, where: str) -> list[str]:
        return shape_errors(item, child, where, extra_enums=extra_enums)

    if kind == "structure":
        if not isinstance(value, dict):
            return [f"{path}: expected an object, got {type(value).__name__}"]
        errors = [f"{path}.{key}: not a member of {shape.name}" for key in value if key not in shape.members]
        errors += [f"{path}.{key}: required by {shape.name}" for key in shape.required_members if key not in value]
        for key, item in value.items():
            if key in shape.members:
                errors += walk(item, shape.members[key], f"{path}.{key}")
        return errors
    if kind == "list":
        if not isinstance(value, list):
            return [f"{path}: expected a list, got {type(value).__name__}"]
        return [e for i, item in enumerate(value) for e in walk(item, shape.member, f"{path}[{i}]")]
    if kind == "map":
        if not isinstance(value, dict):
            return [f"{path}: expected a map, got {type(value).__name__}"]
        return [e for key, item in value.items()
                for e in walk(key, shape.key, f"{path}<key {key!r}>") + walk(item, shape.value, f"{path}[{key!r}]")]
    if kind == "string":
        if not isinstance(value, str):
            return [f"{path}: expected a string, got {type(value).__name__}"]
        errors = []
        allowed = set(shape.enum) | (extra_enums or {}).get(shape.name, set())
        if shape.enum and value not in allowed:
            errors.append(f"{path}: `{value}` is not one of {shape.name} {shape.enum}")
        if not meta.get("min", 0) <= len(value) <= meta.get("max", len(value)):
            errors.append(f"{path}: length {len(value)} outside {shape.name} [{meta.get('min')}, {meta.get('max')}]")
        if "pattern" in meta and not re.fullmatch(meta["pattern"], value):
            errors.append(f"{path}: `{value}` does not match {shape.name}'s pattern {meta['pattern']}")
        return errors
    if kind == "boolean":
        return [] if isinstance(value, bool) else [f"{path}: expected a boolean, got {value!r}"]
    if kind in ("integer", "long"):
        if isinstance(value, bool) or not isinstance(value, int):
            return [f"{path}: expected an integer, got {value!r}"]
        return [] if meta.get("min", value) <= value <= meta.get("max", value) else [f"{path}: {value} out of range"]
    if kind == "timestamp":
        ok = isinstance(value, datetime) and value.tzinfo is not None
        return [] if ok else [f"{path}: expected an aware datetime, got {value!r}"]
    return [f"{path}: the checker does not know {kind} shapes"]
