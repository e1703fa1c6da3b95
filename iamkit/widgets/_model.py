"""What the widgets edit: the policies of a scenario, slot by slot, and a policy with some
statements switched off. Plain data, no widgets: the engine still decides everything.
"""

from __future__ import annotations

import dataclasses
import json
from dataclasses import dataclass
from typing import Iterator, Mapping, Union

from ..engine.policy import Policy
from ..engine.scenario import Request, Scenario

__all__ = ["LAYERS", "Slot", "SlotIndex", "StatementKey", "assemble", "slot_key", "slots", "statement_keys", "without"]

LAYERS = ("identity", "resource", "boundary", "session", "scp", "rcp")
"""The layers a scenario can hold, named like :class:`iamkit.Layer`."""

SlotIndex = Union[int, tuple[int, int]]
"""A policy's place in its layer: an int, or ``(level, position)`` for SCPs and RCPs."""


@dataclass(frozen=True)
class Slot:
    """One policy of a scenario, where it sits and how to name it."""

    layer: str
    index: SlotIndex
    policy: Policy
    title: str

    @property
    def key(self) -> tuple[str, SlotIndex]:
        """``(layer, index)``, as the widgets key their parts."""
        return (self.layer, self.index)


def _title(policy: Policy, fallback: str) -> str:
    if policy.origin is not None:
        return str(policy.origin)
    return policy.name or fallback


def slots(scenario: Scenario) -> list[Slot]:
    """Every policy of a scenario in layer order: identity, resource, boundary, session,
    then SCP and RCP levels (root first)."""
    out = [Slot("identity", i, p, _title(p, f"identity policy {i}")) for i, p in enumerate(scenario.identity_policies)]
    for layer, policy in (("resource", scenario.resource_policy), ("boundary", scenario.permissions_boundary),
                          ("session", scenario.session_policy)):
        if policy is not None:
            out.append(Slot(layer, 0, policy, _title(policy, policy.kind.label)))
    for layer, levels in (("scp", scenario.scps), ("rcp", scenario.rcps)):
        for level, policies in enumerate(levels):
            for position, policy in enumerate(policies):
                out.append(Slot(layer, (level, position), policy,
                                _title(policy, f"{layer.upper()} level {level} #{position}")))
    return out


def slot_key(layer: str, index: SlotIndex, available: Iterator[tuple[str, SlotIndex]] | list[tuple[str, SlotIndex]]
             ) -> tuple[str, SlotIndex]:
    """Normalise ``(layer, index)``: the layer by its value (``Layer.SCP`` → ``"scp"``); for
    SCPs and RCPs an int counts policies across levels, root first.

    Raises:
        KeyError: when the scenario has no such policy (the message lists those it has).
    """
    name = getattr(layer, "value", layer)
    keys = list(available)
    key: tuple[str, SlotIndex] = (name, index)
    if name in ("scp", "rcp") and isinstance(index, int):
        flat = [k for k in keys if k[0] == name]
        if 0 <= index < len(flat):
            key = flat[index]
    elif isinstance(index, list):
        key = (name, tuple(index))  # type: ignore[assignment]
    if key not in keys:
        known = ", ".join(f"{k[0]} {k[1]}" for k in keys) or "none"
        raise KeyError(f"no {name} policy {index} in this scenario (it has: {known})")
    return key


StatementKey = tuple[str, str, int]
"""How a statement is known across edits of its policy: ``("Sid", sid, 0)``, or for a
statement without a Sid ``("text", its JSON, n)``, the n-th of identical ones."""


def statement_keys(policy: Policy) -> tuple[StatementKey, ...]:
    """Each statement's :data:`StatementKey`, in statement order: the same statement keeps
    its key when others are inserted, removed or reordered around it."""
    seen: dict[str, int] = {}
    keys: list[StatementKey] = []
    for st in policy.statements:
        if st.sid:
            keys.append(("Sid", st.sid, 0))
            continue
        text = json.dumps(st.document, sort_keys=True)
        seen[text] = seen.get(text, -1) + 1
        keys.append(("text", text, seen[text]))
    return tuple(keys)


def without(policy: Policy, off: set[StatementKey] | frozenset[StatementKey]) -> Policy:
    """A new policy without the statements whose keys (:func:`statement_keys`) are in
    ``off``; the original is untouched. Kept statements keep their paths and line numbers,
    so traces still point at the text the learner sees."""
    if not off:
        return policy
    kept = tuple(st for st, key in zip(policy.statements, statement_keys(policy), strict=True) if key not in off)
    document = dict(policy.document)
    raw = document.get("Statement")
    if isinstance(raw, list):
        keep_numbers = {st.number for st in kept}
        document["Statement"] = [s for i, s in enumerate(raw) if i in keep_numbers]
    elif isinstance(raw, dict) and not kept:
        document["Statement"] = []
    return dataclasses.replace(policy, statements=kept, document=document)


def assemble(base: Scenario, request: Request, policies: Mapping[tuple[str, SlotIndex], Policy]) -> Scenario:
    """The scenario with ``request`` and each slot's policy replaced (no re-validation: each
    part was validated on its own)."""
    identity = tuple(policies[("identity", i)] for i in range(len(base.identity_policies)))

    def single(layer: str, current: Policy | None) -> Policy | None:
        return None if current is None else policies[(layer, 0)]

    def levels(layer: str, current: tuple[tuple[Policy, ...], ...]) -> tuple[tuple[Policy, ...], ...]:
        return tuple(tuple(policies[(layer, (lv, j))] for j in range(len(level))) for lv, level in enumerate(current))

    return dataclasses.replace(
        base,
        request=request,
        identity_policies=identity,
        resource_policy=single("resource", base.resource_policy),
        permissions_boundary=single("boundary", base.permissions_boundary),
        session_policy=single("session", base.session_policy),
        scps=levels("scp", base.scps),
        rcps=levels("rcp", base.rcps),
    )
