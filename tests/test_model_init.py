"""Policy, Request and Scenario have hand-written __init__s (quicker than a frozen dataclass's):
each must take exactly the dataclass's fields, in order, with their defaults, and set them all."""

from __future__ import annotations

import dataclasses
import inspect

import pytest

from iamkit.engine.model import Policy, PolicyKind
from iamkit.engine.scenario import Request, Scenario


@pytest.mark.parametrize("cls", [Policy, Request, Scenario])
def test_init_takes_the_fields_with_their_defaults(cls: type) -> None:
    parameters = list(inspect.signature(cls.__init__).parameters.values())[1:]
    fields = dataclasses.fields(cls)
    assert [p.name for p in parameters] == [f.name for f in fields]
    for parameter, field in zip(parameters, fields, strict=True):
        if field.default is not dataclasses.MISSING:
            assert parameter.default == field.default, field.name
        elif field.default_factory is not dataclasses.MISSING:
            assert parameter.default is not inspect.Parameter.empty, field.name
        else:
            assert parameter.default is inspect.Parameter.empty, field.name


def test_every_field_is_set_and_defaults_are_fresh() -> None:
    request = Request("arn:aws:iam::111122223333:user/alice", "s3:GetObject")
    assert (request.resource, request.resource_account, request.context) == ("*", None, {})
    assert request.context is not Request("arn:aws:iam::111122223333:user/alice", "s3:GetObject").context
    policy = Policy(PolicyKind.IDENTITY, (), "2012-10-17", None)
    assert (policy.name, policy.warnings, policy.origin, policy.source, policy.document) == (None, (), None, None, {})
    assert policy.document is not Policy(PolicyKind.IDENTITY, (), "2012-10-17", None).document
    values = {f.name: object() for f in dataclasses.fields(Scenario)}
    scenario = Scenario(**values)
    assert all(getattr(scenario, name) is value for name, value in values.items())
    assert dataclasses.replace(scenario, id="x").id == "x" and dataclasses.replace(policy, name="p").name == "p"
    with pytest.raises(dataclasses.FrozenInstanceError):
        policy.name = "other"  # type: ignore[misc]
