"""Summarise py-spy collapsed stacks (`--format raw`): where the samples are.

    python -m bench.profile_report FILE [--top 25] [--match SUBSTRING]

Prints, per function, the share of samples in which it is on the stack (inclusive) and at the
top of it (self), so the slowest path of a benchmark can be read without a flame-graph viewer.
"""

from __future__ import annotations

import argparse
from collections import Counter
from pathlib import Path


def load(path: Path) -> list[tuple[list[str], int]]:
    stacks = []
    for line in path.read_text(errors="replace").splitlines():
        frames, _, count = line.rpartition(" ")
        if frames and count.isdigit():
            stacks.append((frames.split(";"), int(count)))
    return stacks


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("file", type=Path)
    parser.add_argument("--top", type=int, default=25)
    parser.add_argument("--match", default="", help="only frames containing this text")
    args = parser.parse_args()
    stacks = load(args.file)
    total = sum(n for _, n in stacks) or 1
    inclusive: Counter[str] = Counter()
    own: Counter[str] = Counter()
    for frames, n in stacks:
        for f in set(frames):
            inclusive[f] += n
        own[frames[-1]] += n
    print(f"{total} samples in {args.file}")
    print("inclusive (on the stack):")
    shown = 0
    for f, n in inclusive.most_common():
        if args.match in f:
            print(f"  {100 * n / total:5.1f}%  {f}")
            shown += 1
            if shown >= args.top:
                break
    print("self (top of the stack):")
    for f, n in own.most_common(args.top):
        print(f"  {100 * n / total:5.1f}%  {f}")


if __name__ == "__main__":
    main()
