"""One table per condition-operator family, each row cited from AWS's documentation.

The tables live in ``tests/cases/operators/*.json``; every row puts its ``Condition`` in an
Allow statement for alice and checks both the outcome and the recorded condition results.
Rows marked ``"undocumented": true`` pin iamkit's reading where AWS's documentation is
silent; their ``why`` says what iamkit chose. Rows marked ``"rejected": true`` hold a value the
operator cannot read: the policy must fail validation, located at that value.
"""

from __future__ import annotations

import pytest

from conftest import load_cases, user_scenario
from iamkit import Outcome, evaluate
from iamkit.errors import ScenarioError

ROWS = [
    pytest.param(table, row, id=f"{path.stem}:{row['name']}")
    for path, table in load_cases("operators")
    for row in table["rows"]
]


def test_every_family_has_a_table() -> None:
    families = {table["family"] for _, table in load_cases("operators")}
    assert {"String", "Numeric", "Date", "Bool", "Binary", "IpAddress", "Arn", "Null"} <= families


@pytest.mark.parametrize(("table", "row"), ROWS)
def test_condition_row(table: dict, row: dict) -> None:
    statement = {"Sid": "Row", "Effect": "Allow", "Action": "s3:GetObject", "Resource": "*",
                 "Condition": row["condition"]}
    scenario = user_scenario(statement, row["context"], row.get("version", "2012-10-17"))
    if row.get("rejected"):
        with pytest.raises(ScenarioError) as rejected:
            evaluate(scenario)
        (operator, keys), = row["condition"].items()
        assert f"Condition.{operator}.{next(iter(keys))}: `" in str(rejected.value), row["why"]
        assert "is not a valid value" in str(rejected.value)
        return
    decision = evaluate(scenario)
    expected = Outcome.ALLOWED if row["matches"] else Outcome.IMPLICIT_DENY
    assert decision.outcome is expected, f"{row['why']}\n{decision.explain()}"
    (trace,) = decision.trace
    assert trace.conditions_met is row["matches"]
    # Every operator/key of the block was evaluated and recorded, none skipped.
    written = [(op, key) for op, keys in row["condition"].items() for key in keys]
    assert [(c.operator, c.key) for c in trace.conditions] == written
    if row["matches"]:
        assert [t.sid for t in decision.determining] == ["Row"]
