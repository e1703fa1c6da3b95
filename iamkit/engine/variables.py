"""Policy variables: ``${aws:username}``, ``${aws:PrincipalTag/team, 'none'}``, ``${*}``.

A template is parsed once into parts. Text written in the policy keeps its wildcard
meaning where the element has one (``Resource``, ``StringLike``); text that comes from a
variable or from ``${*}``, ``${?}``, ``${$}`` is always literal.

AWS substitutes variables only in policies whose ``Version`` is ``2012-10-17``; callers
decide that and simply do not resolve templates of older policies.
"""

from __future__ import annotations

import re
from functools import lru_cache
from typing import Mapping, Union

__all__ = ["Multivalued", "Template", "Unresolved", "parse_template", "resolve", "resource_template"]

# ${key} or ${key, 'default'}; '' inside the default stands for one quote. A key holds no
# `$` or `{` (``${$}`` aside), so a failed match never rescans the text after the next `${`.
_VARIABLE = re.compile(r"\$\{\s*([^\s,{}'$]+|\$)\s*(?:,\s*'((?:[^']|'')*)'\s*)?\}", re.ASCII)
_SPECIAL = {"*": "*", "?": "?", "$": "$"}

# A part is ("text", s): policy text (wildcards keep their meaning), ("literal", s): text that
# is never a wildcard, or ("var", key_lower, key_as_written, default_or_None).
Part = Union[tuple[str, str], tuple[str, str, str, Union[str, None]]]
Template = tuple[Part, ...]


class Unresolved(str):
    """The name of a variable that had no value and no default (a str subclass)."""


class Multivalued(Unresolved):
    """The name of a variable whose key the request gives as a list, a multivalued key, and that
    has no default: "you cannot use a multivalued context key as a policy variable"
    (reference_policies_condition-single-vs-multi-valued-context-keys.html), so it has no value,
    though the key is not missing."""

    @property
    def note(self) -> str:
        """What the Decision says of it."""
        return (f"`${{{self}}}` names a multivalued key (the request gives a list), which AWS never substitutes "
                "as a policy variable, so it has no value")


@lru_cache(maxsize=8192)
def parse_template(text: str) -> Template | None:
    """Split ``text`` into parts, or return None when it holds no variable at all."""
    if "${" not in text:
        return None
    parts: list[Part] = []
    pos = 0
    for m in _VARIABLE.finditer(text):
        if m.start() > pos:
            parts.append(("text", text[pos : m.start()]))
        key, default = m.group(1), m.group(2)
        if key in _SPECIAL and default is None:
            parts.append(("literal", _SPECIAL[key]))
        else:
            parts.append(("var", key.lower(), key, None if default is None else default.replace("''", "'")))
        pos = m.end()
    if pos < len(text):
        parts.append(("text", text[pos:]))
    return tuple(parts)


def resource_template(entry: str) -> Template | None:
    """The template of a ``Resource``/``NotResource`` entry, or None when AWS substitutes no
    variable in it: only in the resource part of an ARN, after its fifth colon. "You can't use a
    variable to replace parts of the ARN before the fifth colon, such as the service or account"
    (reference_policies_variables.html), so an entry with one there is read as written."""
    at = entry.find("${")
    if at < 0 or entry.count(":", 0, at) < 5:
        return None
    return parse_template(entry)


def resolve(
    template: Template, context: Mapping[str, str | list[str]]
) -> list[tuple[str, bool]] | Unresolved:
    """Substitute a parsed template against a request context.

    Args:
        template: from :func:`parse_template`.
        context: request context keyed by lowercase key name.

    Returns:
        ``[(text, is_policy_text), ...]`` or, when a variable has no value and no default,
        :class:`Unresolved` naming that variable (:class:`Multivalued` when its key is a list).
    """
    out: list[tuple[str, bool]] = []
    for part in template:
        kind = part[0]
        if kind == "text":
            out.append((part[1], True))
        elif kind == "literal":
            out.append((part[1], False))
        else:
            value = context.get(part[1])  # type: ignore[misc]
            if value is None or isinstance(value, list):
                if part[3] is None:  # type: ignore[misc]
                    return (Unresolved if value is None else Multivalued)(part[2])  # type: ignore[misc]
                value = part[3]  # type: ignore[misc]
            out.append((value, False))
    return out
