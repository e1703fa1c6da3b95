"""The one way iamkit gathers problems: every problem of an input, each at its path, located."""

from __future__ import annotations

from iamkit.engine.reading import load_json
from iamkit.errors import ProblemCollector


def test_a_collector_locates_each_problem_at_its_value_or_its_key() -> None:
    text = '{\n  "Statement": [{"Effect": "allow", "Acton": "s3:GetObject"}]\n}'
    _, positions = load_json(text)
    out = ProblemCollector(positions, ("identityPolicies", 0))
    out.add(("Statement", 0, "Effect"), "`Effect` must be `Allow` or `Deny`", "did you mean `Allow`?")
    out.add(("Statement", 0, "Acton"), "unknown element `Acton`", severity="warning", at_key=True)
    effect, acton = out.items
    assert (effect.path, effect.line, effect.column, effect.severity) == \
        ("identityPolicies[0].Statement[0].Effect", 2, 28, "error")
    assert (acton.path, acton.line, acton.column, acton.severity) == \
        ("identityPolicies[0].Statement[0].Acton", 2, 37, "warning")
    assert out.errors() == [effect] and out.warnings() == [acton]


def test_a_collector_without_text_records_paths_only() -> None:
    out = ProblemCollector(warnings_wanted=False)
    out.add(["request", "principal"], "the request has no `principal` ARN")
    assert [(p.path, p.line, p.column) for p in out.items] == [("request.principal", None, None)]
    assert out.warnings_wanted is False
