"""A small Obsidian-style vault with links, an embed, a backlink, a tag and a folder, for the related
notes and scope tests."""

from __future__ import annotations

from pathlib import Path

from helpers import write

NOTES = {
    "deep/attention.md": """---
tags: [nlp]
---
# Attention

Self-attention lets every token of a sequence attend to every other token. The scaled dot product
divides the query-key scores by the square root of the key dimension before the softmax.

See [[transformer]] for the architecture built on it, and [[Missing note]] for later.

![[softmax]]
![[diagram.png]]

```python
# [[not a link]] inside code
```
""",
    "deep/transformer.md": """# Transformer

The transformer stacks multi-head attention and feed-forward layers, with residual connections and
layer normalization. Its encoder reads the input sequence; its decoder writes the output sequence.
""",
    "seq2seq.md": """# Sequence to sequence

An encoder-decoder network translates one sequence into another. Attention over the encoder states
lets the decoder look at the input tokens that matter for each output token.
""",
    "rnn.md": """# Recurrent networks

A recurrent network reads a sequence one token at a time. Long sequences lose information, which is
what [[deep/attention.md|attention]] fixed.
""",
    "softmax.md": """# Softmax

The softmax turns scores into probabilities: exp of each score divided by the sum of the exps.
""",
    "cooking.md": """# Pasta

Boil the pasta in salted water for nine minutes, then toss it with butter and parmesan cheese.
""",
}


def linked_vault(folder: Path) -> Path:
    for name, text in NOTES.items():
        write(folder, name, text)
    return folder
