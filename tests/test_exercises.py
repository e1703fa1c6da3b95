"""Exercise checkers: right answers confirmed, wrong ones nudged, answers revealed only on request."""

from __future__ import annotations

import copy

import pytest

from conftest import user_scenario
from iamkit.engine.explain import what_would_change
from iamkit.exercises import ExerciseError, check_deciding_statement, check_fix, check_prediction

READ = {"Sid": "ReadReports", "Effect": "Allow", "Action": "s3:GetObject", "Resource": "*"}
DENY = {"Sid": "FreezeBucket", "Effect": "Deny", "Action": "s3:*", "Resource": "*"}


def scenario(*statements: dict, context: dict | None = None) -> dict:
    s = user_scenario(statements[0], context)
    s["identityPolicies"][0]["Statement"] = list(statements)
    return s


@pytest.mark.parametrize("answer", ["explicitDeny", "explicit deny", "Explicit-Deny", " EXPLICITDENY "])
def test_prediction_accepts_the_forms_a_learner_types(answer: str) -> None:
    feedback = check_prediction(scenario(READ, DENY), answer)
    assert feedback.correct and "FreezeBucket" in feedback.answer


def test_wrong_prediction_hints_without_revealing() -> None:
    first = check_prediction(scenario(READ, DENY), "allowed")
    assert not first.correct and first.answer is None
    assert first.hint == "check every policy for a Deny statement whose Action, Resource and Condition all match"
    second = check_prediction(scenario(READ, DENY), "allowed", attempt=2)
    assert second.hint == "an explicit Deny in any layer wins over every Allow" and second.answer is None
    revealed = check_prediction(scenario(READ, DENY), "allowed", reveal=True)
    assert revealed.answer.startswith("Explicitly denied: FreezeBucket (identity policy 0, Statement[1]) denies")
    assert "✖ Not yet" in revealed._repr_mimebundle_()["text/html"]


def test_unknown_prediction_is_an_error_not_a_wrong_answer() -> None:
    with pytest.raises(ExerciseError, match="answer `allowed`, `explicitDeny` or `implicitDeny`"):
        check_prediction(scenario(READ), "maybe")


def test_deciding_statement() -> None:
    assert check_deciding_statement(scenario(READ, DENY), "FreezeBucket").correct
    wrong = check_deciding_statement(scenario(READ, DENY), "ReadReports")
    assert not wrong.correct and "does not decide: a Deny outweighs it" in wrong.message
    assert check_deciding_statement(scenario(READ, DENY), "Nope").message == "there is no statement `Nope` in this scenario"
    implicit = scenario({**READ, "Action": "ec2:*"})
    assert check_deciding_statement(implicit, "none").correct
    assert not check_deciding_statement(implicit, "ReadReports").correct


def test_deciding_statement_tells_sidless_statements_of_two_policies_apart() -> None:
    # Both statements are `Statement[0]`, an Allow in identity policy 0 and a Deny in
    # identity policy 1: the label alone does not say which, so it is not an answer.
    two = scenario({k: v for k, v in READ.items() if k != "Sid"})
    two["identityPolicies"].append({"Version": "2012-10-17", "Statement": [
        {"Effect": "Deny", "Action": "s3:GetObject", "Resource": "*"}]})
    ambiguous = check_deciding_statement(two, "Statement[0]")
    assert not ambiguous.correct and ambiguous.answer is None
    assert ambiguous.message == ("`Statement[0]` names 2 statements (`identity policy 0, Statement[0]`; "
                                 "`identity policy 1, Statement[0]`): which one do you mean?")
    assert check_deciding_statement(two, "identity policy 1, Statement[0]").correct
    wrong = check_deciding_statement(two, "identity policy 0, Statement[0]")
    assert not wrong.correct and "does not decide: a Deny outweighs it" in wrong.message
    # A label that names only deciding statements is right: both Denies decide.
    both = copy.deepcopy(two)
    both["identityPolicies"][0]["Statement"][0]["Effect"] = "Deny"
    assert check_deciding_statement(both, "Statement[0]").correct


def test_fix_goal_and_hints_from_the_trace() -> None:
    broken = scenario({**READ, "Condition": {"Bool": {"aws:MultiFactorAuthPresent": "true"}}})
    still = check_fix(broken, "allowed", attempt=2)
    assert not still.correct
    assert still.hint == "`ReadReports` (identity policy 0, Statement[0]) needs `aws:MultiFactorAuthPresent` in the " \
                         "request context (Bool `true`)"
    fixed = copy.deepcopy(broken)
    fixed["request"]["context"] = {"aws:MultiFactorAuthPresent": "true"}
    assert check_fix(fixed, "allowed").correct
    assert check_fix(scenario(READ, DENY), "denied").correct
    unparsable = scenario({"Effect": "Allow"})
    feedback = check_fix(unparsable, "allowed")
    assert not feedback.correct and feedback.message == "the policy does not parse yet" and "no `Action`" in feedback.hint
    with pytest.raises(ExerciseError):
        check_fix(broken, "maybe")


def test_what_would_change_names_the_near_miss_and_the_layer() -> None:
    from iamkit import evaluate

    d = evaluate(scenario({**READ, "Resource": "arn:aws:s3:::other/*"}))
    hints = what_would_change(d)
    assert hints[0].startswith("`ReadReports` (identity policy 0, Statement[0]) allows the action but not this resource")
    assert hints[-1].startswith("nothing in the identity policy allows `s3:GetObject`")
    assert what_would_change(evaluate(scenario(READ)))[0].startswith("the request rests on `ReadReports`")


def test_unanswered_is_an_invitation_and_grading_raises(monkeypatch) -> None:
    from iamkit.exercises import WrongAnswer

    waiting = check_prediction(scenario(READ, DENY), None)
    assert not waiting.correct and waiting.message.startswith("not answered yet")
    assert check_deciding_statement(scenario(READ, DENY), None).message.startswith("not answered yet")
    monkeypatch.setenv("IAMKIT_GRADING", "1")
    with pytest.raises(WrongAnswer):
        check_prediction(scenario(READ, DENY), None)
    with pytest.raises(WrongAnswer, match="the request is not allowed"):
        check_prediction(scenario(READ, DENY), "allowed")
    assert check_prediction(scenario(READ, DENY), "explicitDeny").correct


def test_an_unedited_fix_is_not_answered_yet() -> None:
    assert check_fix(None, "allowed").message.startswith("not answered yet")
