"""What the image's worker pays to load the workflow code, before and after issue 17.

The workflow sandbox imports the workflow modules again for every workflow it loads (each new
case, each case evicted from the sticky cache); each import asks the module's loader for its
code object. This runs that call for every module under workflows/ in two child processes with
the image's environment, on a copy of the code compiled as the Dockerfile compiles it
(`python -m compileall -q`):

- before: `PYTHONDONTWRITEBYTECODE=1` (the old Dockerfile), so worker.py moved the bytecode cache
  to `<data_dir>/pycache`, which the runtime user cannot create: every load compiles the source;
- after: no `PYTHONDONTWRITEBYTECODE` (the Dockerfile now): the build-time bytecode is read.

Prints the milliseconds per load of the whole workflows/ package in each child and the ratio
before/after (same run, same machine). `python -m bench.bytecode [--rounds N]`.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent

CHILD = r"""
import importlib.machinery, json, sys, time
sys.path.insert(0, sys.argv[1])
import worker
from config import get_settings
worker.enable_bytecode_cache(get_settings())
from pathlib import Path
root = Path(sys.argv[1])
mods = []
for path in sorted((root / "workflows").rglob("*.py")):
    name = ".".join(path.relative_to(root).with_suffix("").parts)
    mods.append(importlib.machinery.SourceFileLoader(name, str(path)))
for m in mods:  # warm the file cache
    m.get_code(m.name)
rounds = int(sys.argv[2])
t = time.perf_counter()
for _ in range(rounds):
    for m in mods:
        m.get_code(m.name)
print(json.dumps({"ms_per_load": (time.perf_counter() - t) * 1000 / rounds, "modules": len(mods)}))
"""


def run(app: Path, rounds: int, *, before: bool) -> dict[str, float]:
    env = {"PATH": os.environ["PATH"], "HOME": str(app), "PYTHONUNBUFFERED": "1",
           # as in the image: /app/.data is not writable by the runtime user (uid 10001)
           "COMPLAINTS_DATA_DIR": "/dev/null/data"}
    if before:
        env["PYTHONDONTWRITEBYTECODE"] = "1"
    out = subprocess.run([sys.executable, "-c", CHILD, str(app), str(rounds)], cwd=app, env=env,
                         capture_output=True, text=True)
    if out.returncode:
        raise SystemExit(out.stderr)
    return json.loads(out.stdout)  # type: ignore[no-any-return]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=20)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="bench-bytecode-") as tmp:
        app = Path(tmp) / "app"
        app.mkdir()
        for path in ROOT.glob("*.py"):  # config, worker, temporal_client, ... (as the image)
            shutil.copy(path, app / path.name)
        for folder in ("domain", "workflows", "activities", "api"):
            shutil.copytree(ROOT / folder, app / folder, ignore=shutil.ignore_patterns("__pycache__"))
        subprocess.run([sys.executable, "-m", "compileall", "-q", str(app)], check=True)
        after = run(app, args.rounds, before=False)
        before = run(app, args.rounds, before=True)
    print(f"workflows/ ({after['modules']:.0f} modules), code objects per load, {args.rounds} rounds:")
    print(f"  before (PYTHONDONTWRITEBYTECODE=1, cache folder unwritable): {before['ms_per_load']:.1f} ms")
    print(f"  after  (build-time bytecode):                                {after['ms_per_load']:.1f} ms")
    print(f"  ratio before/after: {before['ms_per_load'] / after['ms_per_load']:.1f}")


if __name__ == "__main__":
    main()
