"""The trained heads are reproducible (issue #24): the same seed gives the same scores. A trial run
(a few pairs, one epoch) of each training command, twice, compared by the fingerprint of its int8
model's validation scores; a third run with another seed must differ, or the fingerprint means nothing."""

import json

import pytest

from training import train_reader, train_support

pytestmark = pytest.mark.integration

TRIAL = ["--limit", "32", "--val-limit", "48", "--epochs", "1"]


@pytest.mark.parametrize(
    "command, head, meta",
    [
        (train_reader, [], "reader.json"),
        (train_support, [], "support.json"),
        (train_support, ["--head", "contradiction"], "contradiction.json"),
    ],
    ids=["reader", "support", "contradiction"],
)
def test_the_same_seed_gives_the_same_scores(command, head, meta, tmp_path):
    def fingerprint(name: str, seed: int) -> str:
        out = tmp_path / name
        command.main([*TRIAL, *head, "--seed", str(seed), "--out", str(out)])
        return json.loads((out / meta).read_text())["val_score_fingerprint"]

    first = fingerprint("first", 7)
    assert fingerprint("again", 7) == first
    assert fingerprint("other", 8) != first
