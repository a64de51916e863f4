"""Run a page's blocks in order, in the current folder, as a reader would type them:
python blocks share one namespace (as doctest shares a module's globals), bash blocks run
each in a fresh ``bash -euo pipefail``. Exits non-zero at the first block that fails,
naming its line. Usage: ``python run_blocks.py blocks.json``."""

from __future__ import annotations

import json
import subprocess
import sys
import traceback
from pathlib import Path


def main(path: str) -> int:
    blocks = json.loads(Path(path).read_text(encoding="utf-8"))
    namespace: dict[str, object] = {"__name__": "__main__"}
    for block in blocks:
        where = f"{block['page']}:{block['line']}"
        print(f"--- {where} ({block['language']})", flush=True)
        if block["language"] == "python":
            try:
                exec(compile(block["code"], where, "exec"), namespace)
            except BaseException:
                traceback.print_exc()
                print(f"FAILED: the python block at {where}", file=sys.stderr)
                return 1
        else:
            sys.stdout.flush()
            done = subprocess.run(["bash", "-euo", "pipefail", "-c", block["code"]], check=False)
            if done.returncode != 0:
                print(
                    f"FAILED: the bash block at {where} exited {done.returncode}", file=sys.stderr
                )
                return 1
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1]))
