"""Every iamkit widget in a real browser, on the fixture notebook tests/browser/notebooks/widgets.ipynb
(fixed data, independent of the lessons): controls are edited the way a learner edits them, and the
views must be re-rendered by the kernel. The engine's answers are tested elsewhere; here, that the
browser shows them."""

from __future__ import annotations

import re
from typing import Any, Iterator

import pytest

from .driver import (
    Locator,
    Notebook,
    checkbox,
    expect,
    expect_widget_rendered,
    notebook_session,
    wait_for_change,
)

FIXTURE = "tests/browser/notebooks/widgets.ipynb"
EXPLICIT, IMPLICIT, ALLOWED = "DENIED (explicit deny)", "DENIED (implicit deny", "ALLOWED"


@pytest.fixture(scope="module")
def notebook(lab: Any, browser: Any) -> Iterator[Notebook]:
    """The fixture notebook, run once for the module; each test drives its own widget."""
    with notebook_session(lab, browser, FIXTURE) as opened:
        yield opened


def widget(notebook: Notebook, tag: str) -> tuple[int, Locator]:
    (index,) = notebook.tagged(tag)
    return index, expect_widget_rendered(notebook.cell(index), notebook.cells[index]["tags"])


def test_every_tagged_widget_renders(notebook: Notebook) -> None:
    tagged = notebook.tagged("widget")
    assert len(tagged) == 6
    for index in tagged:
        expect_widget_rendered(notebook.cell(index), notebook.cells[index]["tags"])


def test_playground_keeps_the_last_decision_on_bad_json_and_follows_toggles_and_the_request(notebook: Notebook) -> None:
    index, playground = widget(notebook, "widget:playground")
    result = playground.locator(".iamkit-result")
    editor = playground.locator(".iamkit-editor textarea")
    editor_status = playground.locator(".iamkit-editor-status")
    inputs_status = playground.locator(".iamkit-playground-status")
    expect(result).to_contain_text(EXPLICIT)
    expect(result).to_contain_text("DenyDeleteReports")

    good = editor.input_value()
    assert '"Effect": "Allow",' in good
    editor.fill(good.replace('"Effect": "Allow",', '"Effect": "Allow"', 1))  # a comma missing
    expect(editor_status).to_contain_text("not a valid identity policy")
    expect(editor_status).to_contain_text(re.compile(r"line \d+, column \d+\): not valid JSON: expecting ',' delimiter"))
    expect(editor_status).to_contain_text("hint: a comma is missing")
    expect(inputs_status).to_contain_text("1 input is not valid")
    expect(result).to_contain_text(EXPLICIT)  # the last decision stays
    notebook.screenshot(index, "widgets-playground-invalid-json")

    editor.fill(good)
    expect(editor_status).to_contain_text("valid identity policy")
    expect(inputs_status).to_contain_text("every policy and the request are valid")

    flowchart = playground.locator(".iamkit-flowchart")
    before = flowchart.inner_html()
    checkbox(playground, "DenyDeleteReports").uncheck()
    expect(result).to_contain_text(ALLOWED)
    expect(result).to_contain_text("AllowS3")
    expect(flowchart.locator("svg")).to_be_visible()
    wait_for_change(flowchart, before)  # the path through the flowchart is redrawn
    notebook.screenshot(index, "widgets-playground-deny-off")

    action = playground.locator(".iamkit-action input")
    action.fill("ec2:RunInstances")
    expect(result).to_contain_text(IMPLICIT)
    expect(result).to_contain_text("ec2:RunInstances")
    action.fill("s3:GetObject")
    expect(result).to_contain_text(ALLOWED)
    expect(result).to_contain_text("s3:GetObject")

    checkbox(playground, "DenyDeleteReports").check()  # the Deny is about deleting: reading stays allowed
    expect(result).to_contain_text(re.compile(r"Statement\[1\]\s*Deny\s*no: Action"))  # looked at again, not matching
    expect(result).to_contain_text(ALLOWED)
    playground.locator(".lm-TabBar-tab", has_text="Every statement").click()
    expect(playground.locator(".widget-html.iamkit-trace")).to_be_visible()
    expect(playground.locator(".widget-html.iamkit-trace")).to_contain_text("DenyDeleteReports")
    notebook.screenshot(index, "widgets-playground-request-edited")


def test_deny_wins_demo_follows_both_switches(notebook: Notebook) -> None:
    index, demo = widget(notebook, "widget:deny-wins")
    result, lesson = demo.locator(".iamkit-result"), demo.locator(".iamkit-lesson")
    expect(result).to_contain_text(EXPLICIT)
    expect(lesson).to_contain_text("the Deny wins")
    allow, deny = checkbox(demo, "Allow AllowS3"), checkbox(demo, "Deny DenyDeleteReports")

    deny.uncheck()
    expect(result).to_contain_text(ALLOWED)
    expect(lesson).to_contain_text("The Allow matches and no Deny does")
    allow.uncheck()
    expect(result).to_contain_text(IMPLICIT)
    expect(lesson).to_contain_text("A Deny is not needed for a denial")
    notebook.screenshot(index, "widgets-deny-wins-implicit")
    deny.check()
    expect(result).to_contain_text(EXPLICIT)
    expect(lesson).to_contain_text("The Deny matches the request")
    allow.check()
    expect(lesson).to_contain_text("the Deny wins")
    expect(demo.locator(".iamkit-flowchart svg")).to_be_visible()


def test_policy_editor_locates_problems_and_recovers(notebook: Notebook) -> None:
    index, editor = widget(notebook, "widget:policy-editor")
    text, status = editor.locator(".iamkit-editor textarea"), editor.locator(".iamkit-status")
    expect(status).to_contain_text("valid identity policy, 1 statement")

    text.fill('{"Version": "2012-10-17", "Statement": {"Effect": "allow", "Action": "s3:GetObject", "Resource": "*"}}')
    expect(status).to_contain_text("Statement.Effect (line 1, column 51)")
    expect(status).to_contain_text("did you mean Allow?")
    expect(status.get_by_text("allow", exact=True)).to_have_js_property("tagName", "CODE")  # backticks shown as code
    notebook.screenshot(index, "widgets-policy-editor-invalid")

    text.fill('{"Version": "2012-10-17", "Statement": {"Effect": "Allow", "Action": "s3:GetObject", "Resource": "*"}}')
    expect(status).to_contain_text("valid identity policy, 1 statement")
    expect(status).not_to_contain_text("✖")


def test_exercise_gives_feedback_and_holds_the_answer_back_until_tried(notebook: Notebook) -> None:
    index, exercise = widget(notebook, "widget:exercise")
    feedback = exercise.locator(".iamkit-exercise-feedback")
    expect(feedback).to_have_text("")
    expect(exercise).not_to_contain_text("Answer:")

    exercise.locator(".iamkit-reveal").click()  # too early: nothing tried yet
    expect(feedback).to_contain_text("Try at least once")
    expect(exercise).not_to_contain_text("Answer:")

    exercise.locator(".iamkit-choice button", has_text="allowed").click()
    exercise.locator(".iamkit-check").click()
    expect(feedback).to_contain_text("✖ Not yet")
    expect(feedback).to_contain_text("the request is not allowed")
    expect(feedback).to_contain_text("attempt 1")
    expect(feedback).not_to_contain_text("Answer:")
    notebook.screenshot(index, "widgets-exercise-wrong")

    exercise.locator(".iamkit-choice button", has_text="explicit deny").click()
    exercise.locator(".iamkit-check").click()
    expect(feedback).to_contain_text("✔ Correct")
    expect(feedback).to_contain_text("attempt 2")
    expect(feedback).to_contain_text("Answer:")


def test_trust_explorer_follows_the_role_and_the_context(notebook: Notebook) -> None:
    index, explorer = widget(notebook, "widget:trust-explorer")
    assumers, trust = explorer.locator(".iamkit-assumers"), explorer.locator(".iamkit-trust-policy")
    expect(assumers).to_contain_text("Who may assume AppServer")
    before = trust.inner_html()

    explorer.locator(".iamkit-role select").select_option("Deploy")
    expect(assumers).to_contain_text("Who may assume Deploy")
    wait_for_change(trust, before)
    expect(explorer.locator(".iamkit-trust-diagram svg")).to_be_visible()

    context = explorer.locator(".iamkit-context textarea")
    context.fill("not a pair")
    expect(explorer.locator(".iamkit-status")).to_contain_text("is not key=value")
    expect(assumers).to_contain_text("Who may assume Deploy")  # the last result stays
    context.fill("aws:MultiFactorAuthPresent=true")
    expect(explorer.locator(".iamkit-status")).to_have_text("")
    notebook.screenshot(index, "widgets-trust-explorer")


def test_account_explorer_follows_the_principal_and_the_service(notebook: Notebook) -> None:
    index, explorer = widget(notebook, "widget:account-explorer")
    groups, permissions = explorer.locator(".iamkit-groups"), explorer.locator(".iamkit-permissions")
    expect(groups).to_contain_text("user alice")
    expect(groups).to_contain_text("member of developers")
    expect(permissions).to_contain_text("s3 actions allowed")

    explorer.locator(".iamkit-principal select").select_option(label="role AppServer")
    expect(groups).to_contain_text("role AppServer")
    expect(groups).to_contain_text("roles are not members of groups")
    expect(explorer.locator(".iamkit-account-graph svg")).to_be_visible()

    explorer.locator(".iamkit-service select").select_option("iam")
    expect(permissions).to_contain_text("iam actions allowed")
    notebook.screenshot(index, "widgets-account-explorer")
