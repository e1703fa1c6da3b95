"""The AWS-shaped view: :func:`simulate_custom_policy` and :func:`simulate_principal_policy`,
stand-ins for boto3's ``iam.simulate_custom_policy`` and ``iam.simulate_principal_policy``
that run on iamkit's engine.

They take the same keyword arguments and return the same response shape, so a learner
can swap them for ``boto3.client("iam")``'s methods. Every (action, resource) pair is one
engine :class:`~iamkit.Decision`; both responses are rendered from those Decisions by the
same functions, and nothing is evaluated twice.

What AWS documents, and what iamkit does where the documentation is silent:

- One ``EvaluationResult`` per action; its top-level fields aggregate every resource,
  the most restrictive decision winning; ``ResourceSpecificResults`` holds one entry per
  requested ARN (omitted when ``ResourceArns`` is absent or ``["*"]``).
  https://docs.aws.amazon.com/IAM/latest/APIReference/API_EvaluationResult.html
- ``EvalResourceName``: AWS now reports the ARN *template* of the resource type; iamkit
  has no service reference, so it reports the one requested resource, or ``*`` for several.
- ``MatchedStatements``: the deciding statements (denies if any, else allows) of identity
  policies, the resource policy and the permissions boundary; never SCP statements, as
  the API reference says. ``SourcePolicyId`` / ``SourcePolicyType`` name the policy:

  ======================================  ==========================  =====================
  policy                                  ``SourcePolicyId``          ``SourcePolicyType``
  ======================================  ==========================  =====================
  ``PolicyInputList`` item N              ``PolicyInputList.N``       ``IAM Policy``
  ``ResourcePolicy``                      ``ResourcePolicy``          ``Resource Policy``
  ``PermissionsBoundaryPolicyInputList``  ``…PolicyInputList.1``      (none observed)
  inline policy of a user, group, role    the policy's name           ``user``/``group``/``role``
  AWS / customer managed policy           the policy's name           ``aws-managed``/``user-managed``
  the entity's permissions boundary       the policy's name           as a managed policy
  ======================================  ==========================  =====================

  ``IAM Policy``/``Resource Policy`` are what the service returns, although botocore's
  ``PolicySourceType`` enum does not list them; the enum has no boundary type, and a
  boundary is a managed policy, so it is typed as one.
- Positions follow the service: 1-based lines and columns pointing just *after* a token.
  A statement starts just after the ``[`` (first statement), just after the previous
  statement's ``}`` (later ones) or just after its own ``{`` (a lone statement object), and
  ends just after its ``}`` — as in the AWS CLI example, where ``{`` at column 37 and ``}``
  at column 166 are reported as 38 and 167. They count in :func:`policy_text`: the JSON
  text a policy was given as, or, for an account's policies (held as documents), the
  document as ``json.dumps(document, indent=4)``: four spaces as the IAM console's editor
  writes, which reproduces the CLI's ``simulate-principal-policy`` example (3:19 to 9:10).
  AWS counts in the text it stored, so a policy stored with other whitespace (an AWS
  managed policy, say) gets other numbers from AWS.
- Without ``CallerArn``, ``simulate_custom_policy``'s caller is ``user/simulated-caller`` in
  the resource owner's account (``ResourceOwner``, else the first account named in
  ``ResourceArns``, else ``123456789012``), so a simulation without a caller tests the
  policies within one account.

:func:`simulate_principal_policy` reads the entity's policies from an
:class:`~iamkit.account.Account`: ``account=``, else the running sandbox's, read through
its IAM client at each call (the learner changes it as they go):

- A user's inline and attached policies and its groups'; a role's own; a group's own,
  evaluated for a member with no policies of its own (``user/simulated-caller`` in the
  group's account); then the ``PolicyInputList`` policies. The boundary is the entity's,
  replaced by ``PermissionsBoundaryPolicyInputList`` when that holds a policy (an empty
  list keeps the entity's, as observed in cloud-custodian/cloud-custodian#7012).
- The caller is ``CallerArn``, else the user or role itself ("as Bob, as if Bob had David's
  policies"). The context holds what the account knows of the caller when the caller is
  one of its users or roles (:meth:`~iamkit.account.Account.context`: ARN, id, tags),
  then ``ContextEntries``, which win (keys compare case-insensitively). AWS's simulator
  may leave principal tags to ``ContextEntries`` (boto/boto3#2084): give them to be sure.
- ``ResourcePolicy`` needs ``CallerArn`` unless ``PolicySourceArn`` is a user.
- An account export has no organization: no SCPs, no ``OrganizationsDecisionDetail``.
- ``PolicyExclusionList`` removes the entity's own policies, never the ``…InputList`` ones;
  ``PolicyArn`` matches managed permissions policies (exclude the boundary with
  ``PolicyType`` ``permission-boundary``); ``scp`` and ``rcp`` find nothing to remove.
- ``NoSuchEntity`` when ``PolicySourceArn`` names no user, group or role of the account.

This module is the entry point: the two functions, and :func:`policy_text` (exported here). The
work is done in three modules, one job each: :mod:`~iamkit.analysis.simulator_request` reads and
checks the parameters, :mod:`~iamkit.analysis.simulator_entity` finds the entity and its policies,
:mod:`~iamkit.analysis.simulator_response` evaluates each pair once and renders the response.
"""
from __future__ import annotations

from typing import Any, Mapping, Sequence

from ..account.entities import Group, User
from ..account.model import Account
from ..errors import SimulationError
from .simulator_entity import (
    find_entity,
    group_member,
    named_account_policy,
    principal_context,
    read_exclusions,
    sandbox_account,
)
from .simulator_request import (
    Problems,
    default_caller,
    read_boundary_input,
    read_caller,
    read_context,
    read_handling_option,
    read_identity_inputs,
    read_organization,
    read_owner,
    read_request,
    read_resource_input,
)
from .simulator_response import policy_text, prepare_simulation, respond

__all__ = ["SimulationError", "policy_text", "simulate_custom_policy", "simulate_principal_policy"]


def simulate_custom_policy(
    *,
    PolicyInputList: Sequence[str],
    ActionNames: Sequence[str],
    PermissionsBoundaryPolicyInputList: Sequence[str] | None = None,
    OrderedOrganizationPolicyInputList: Sequence[Mapping[str, Sequence[str]]] | None = None,
    ResourceArns: Sequence[str] | None = None,
    ResourcePolicy: str | None = None,
    ResourceOwner: str | None = None,
    CallerArn: str | None = None,
    ContextEntries: Sequence[Mapping[str, Any]] | None = None,
    ResourceHandlingOption: str | None = None,
    MaxItems: int | None = None,
    Marker: str | None = None,
) -> dict[str, Any]:
    """Simulate policies given as JSON text, the way ``iam.simulate_custom_policy`` does.

    Parameter names are AWS's own, so ``simulate_custom_policy(**params)`` and
    ``boto3.client("iam").simulate_custom_policy(**params)`` take the same ``params``.

    Args:
        PolicyInputList: identity-based policies, each as JSON text.
        ActionNames: concrete actions such as ``s3:GetObject`` (no wildcards).
        PermissionsBoundaryPolicyInputList: at most one permissions boundary, as JSON text.
        OrderedOrganizationPolicyInputList: SCP levels, root first, account last, each
            ``{"ServiceControlPolicyInputList": [json, ...]}``; every level must allow.
        ResourceArns: resources to simulate; ``["*"]`` when absent.
        ResourcePolicy: a resource-based policy attached to every simulated resource.
        ResourceOwner: ``arn:aws:iam::ACCOUNT:root`` (or the bare account id) owning the
            resources whose ARN names no account, such as S3 buckets.
        CallerArn: the calling IAM user or role; required with ``ResourcePolicy``.
        ContextEntries: ``{"ContextKeyName", "ContextKeyValues", "ContextKeyType"}`` items.
        ResourceHandlingOption: one of AWS's EC2 scenarios, checked and then ignored (iamkit
            does not model them).
        MaxItems: results per page, 1–1000, default 100.
        Marker: the ``Marker`` of the previous page.

    Returns:
        ``{"EvaluationResults": [...], "IsTruncated": bool}`` plus ``"Marker"`` when
        truncated: one result per action, shaped as botocore's ``SimulatePolicyResponse``.

    Raises:
        SimulationError: ``InvalidInput`` for a wrong parameter, ``MalformedPolicyDocument``
            for a policy AWS would reject; every problem is listed with its location.
    """
    out = Problems()
    actions, resources, start, limit = read_request(ActionNames, ResourceArns, MaxItems, Marker, out)
    read_handling_option(ResourceHandlingOption, out)  # checked, then unused: EC2 scenarios are not modelled
    if PolicyInputList is None:
        out.add(("PolicyInputList",), "`PolicyInputList` is required", "pass a list of identity policies as JSON text")
    identity = read_identity_inputs(PolicyInputList, out)
    boundary = read_boundary_input(PermissionsBoundaryPolicyInputList, out)
    resource = read_resource_input(ResourcePolicy, out)
    if ResourcePolicy is not None and CallerArn is None:
        out.add(("CallerArn",), "`CallerArn` is required when `ResourcePolicy` is given",
                "the resource policy's `Principal` needs a caller to compare with: pass an IAM user or role ARN")
    scps = read_organization(OrderedOrganizationPolicyInputList, out)
    owner = read_owner(ResourceOwner, out)
    principal = read_caller(CallerArn, out) if CallerArn is not None else default_caller(owner, resources)
    context = read_context(ContextEntries, out)
    out.raise_any()
    assert principal is not None
    simulation = prepare_simulation(principal, context, identity, boundary, resource, scps, owner)
    return respond(simulation, actions, resources, start, limit)


def simulate_principal_policy(
    *,
    PolicySourceArn: str,
    ActionNames: Sequence[str],
    PolicyInputList: Sequence[str] | None = None,
    PermissionsBoundaryPolicyInputList: Sequence[str] | None = None,
    PolicyExclusionList: Sequence[Mapping[str, Any]] | None = None,
    ResourceArns: Sequence[str] | None = None,
    ResourcePolicy: str | None = None,
    ResourceOwner: str | None = None,
    CallerArn: str | None = None,
    ContextEntries: Sequence[Mapping[str, Any]] | None = None,
    ResourceHandlingOption: str | None = None,
    MaxItems: int | None = None,
    Marker: str | None = None,
    account: Account | None = None,
) -> dict[str, Any]:
    """Simulate the policies of a user, group or role, the way ``iam.simulate_principal_policy``
    does, on an account iamkit has loaded.

    Parameter names are AWS's own, so ``simulate_principal_policy(**params, account=acct)``
    and ``boto3.client("iam").simulate_principal_policy(**params)`` take the same ``params``.
    The module docstring says what iamkit decides where AWS's documentation is silent.

    Args:
        PolicySourceArn: the user, group or role whose policies are simulated; a user's
            groups' policies are included.
        ActionNames: concrete actions such as ``s3:GetObject`` (no wildcards).
        PolicyInputList: more identity-based policies, as JSON text, added to the entity's.
        PermissionsBoundaryPolicyInputList: at most one boundary, as JSON text; it replaces
            the entity's own for this simulation.
        PolicyExclusionList: the entity's policies to leave out, each one of
            ``{"PolicyType": ...}``, ``{"PolicyArn": ...}`` (``*`` and ``?`` allowed in the
            name) or ``{"InlinePolicyIdentifier": {"PolicyName", "AttachmentType",
            "AttachmentName"}}``.
        ResourceArns: resources to simulate; ``["*"]`` when absent.
        ResourcePolicy: a resource-based policy attached to every simulated resource.
        ResourceOwner: ``arn:aws:iam::ACCOUNT:root`` (or the bare account id) owning the
            resources whose ARN names no account; by default the caller's account.
        CallerArn: the calling IAM user or role, if not the entity itself; required with
            ``ResourcePolicy`` unless ``PolicySourceArn`` is a user.
        ContextEntries: ``{"ContextKeyName", "ContextKeyValues", "ContextKeyType"}`` items;
            they override the keys iamkit derives from the caller.
        ResourceHandlingOption: one of AWS's EC2 scenarios, checked and then ignored (iamkit
            does not model them).
        MaxItems: results per page, 1–1000, default 100.
        Marker: the ``Marker`` of the previous page.
        account: not a boto3 parameter — the :class:`~iamkit.account.Account` holding the
            entity, such as ``load_account("export.json")``; by default the running
            sandbox's account, read at the call.

    Returns:
        ``{"EvaluationResults": [...], "IsTruncated": bool}`` plus ``"Marker"`` when
        truncated: one result per action, shaped as botocore's ``SimulatePolicyResponse``.

    Raises:
        SimulationError: ``InvalidInput`` for a wrong parameter (or no account to read),
            ``NoSuchEntity`` when the account has no such entity (with the closest name),
            ``MalformedPolicyDocument`` for a policy AWS would reject; every problem is
            listed with its location.
    """
    out = Problems()
    actions, resources, start, limit = read_request(ActionNames, ResourceArns, MaxItems, Marker, out)
    read_handling_option(ResourceHandlingOption, out)  # checked, then unused: EC2 scenarios are not modelled
    if account is None:
        account = sandbox_account(out)
    entity = find_entity(account, PolicySourceArn, out) if account is not None else None
    excluded = read_exclusions(PolicyExclusionList, out)
    added = read_identity_inputs(PolicyInputList, out)
    boundary = read_boundary_input(PermissionsBoundaryPolicyInputList, out)
    resource = read_resource_input(ResourcePolicy, out)
    if ResourcePolicy is not None and CallerArn is None and entity is not None and not isinstance(entity, User):
        out.add(("CallerArn",), f"`CallerArn` is required when `ResourcePolicy` is given and `PolicySourceArn` "
                f"is a {entity.kind}", "the resource policy's `Principal` needs a caller to compare with: pass an "
                "IAM user ARN")
    owner = read_owner(ResourceOwner, out)
    caller = read_caller(CallerArn, out) if CallerArn is not None else None
    entries = read_context(ContextEntries, out)
    out.raise_any()
    assert account is not None and entity is not None
    holder = group_member(entity) if isinstance(entity, Group) else entity
    own = [named_account_policy(p) for p in account.identity_policies(holder) if not excluded(p)]
    if boundary is None:
        attached = account.permissions_boundary(holder)
        boundary = named_account_policy(attached) if attached is not None and not excluded(attached) else None
    principal = caller or holder.arn
    simulation = prepare_simulation(principal, principal_context(account, principal, entries), own + added, boundary,
                             resource, (), owner)
    return respond(simulation, actions, resources, start, limit)
