"""AWS's documented evaluation rules, one data-driven case per rule.

Each case in ``tests/cases/docs/*.json`` names the documentation page it comes from and
quotes the sentence that states the rule; the test asserts the outcome and the
determining statements (by Sid), not the outcome alone.
"""

from __future__ import annotations

import pytest

from conftest import load_cases
from iamkit import evaluate

CASES = [
    pytest.param(case, id=f"{path.stem}:{case['name']}")
    for path, topic in load_cases("docs")
    for case in topic["cases"]
]


def test_cases_cite_aws_documentation() -> None:
    for param in CASES:
        (case,) = param.values
        assert case["source"].startswith(("https://docs.aws.amazon.com/", "https://github.com/awsdocs/")), case["name"]
        assert len(case["quote"]) > 20, case["name"]


@pytest.mark.parametrize("case", CASES)
def test_documented_rule(case: dict) -> None:
    decision = evaluate(case["scenario"])
    expected = case["expect"]
    context = f"{case['source']}\n  “{case['quote']}”\n{decision.explain()}"
    assert decision.outcome.value == expected["decision"], context
    assert sorted(t.sid for t in decision.determining) == sorted(expected["determining"]), context
