"""Differential test against the shared reference corpus.

The reference is an independent simulator, not the specification
(``shared/corpus/README.md``): every disagreement must be a documented deviation in
``tests/cases/deviations.json``, citing AWS's documentation.
"""

from __future__ import annotations

import io
import json

import pytest

from conftest import CASES, SHARED
from iamkit.cli.simulate import batch

CORPUS = SHARED / "corpus" / "reference-dev.jsonl"

pytestmark = pytest.mark.skipif(not CORPUS.exists(), reason=f"the shared corpus is not at {CORPUS}")


def test_every_disagreement_with_the_reference_is_a_documented_deviation() -> None:
    cases = [json.loads(line) for line in CORPUS.read_text().splitlines() if line.strip()]
    expected = {c["id"]: c.pop("expected")["decision"] for c in cases}
    stdin = io.StringIO("".join(json.dumps(c) + "\n" for c in cases))
    stdout = io.StringIO()
    assert batch(stdin, stdout, jobs=1) == 0
    got = {r["id"]: r["decision"] for r in map(json.loads, stdout.getvalue().splitlines())}
    assert len(got) == len(cases)

    deviations = {d["id"]: d for d in json.loads((CASES / "deviations.json").read_text())["deviations"]}
    disagreements = {i: got[i] for i in expected if got[i] != expected[i]}
    assert set(disagreements) == set(deviations)
    for scenario_id, deviation in deviations.items():
        assert expected[scenario_id] == deviation["reference"]
        assert got[scenario_id] == deviation["iamkit"]
        assert deviation["source"].startswith("https://docs.aws.amazon.com/") and deviation["quote"]
    assert 1 - len(disagreements) / len(cases) >= 0.995
