"""Summarise py-spy `record -f raw` output (collapsed stacks): where the samples went.

    python bench/spy_summary.py bench/out/profile-reset-authsvc.txt [more files] [--top 25]

Prints, over all files: the share of samples per leaf function (self time), and per
function anywhere on the stack (inclusive time), counted once per sample.
"""

import sys
from collections import Counter


def frames(stack):
    return [f for f in stack.split(";") if f and not f.startswith(("thread (", "process "))]


def main(argv):
    top = 25
    if "--top" in argv:
        i = argv.index("--top")
        top = int(argv[i + 1])
        argv = argv[:i] + argv[i + 2:]
    leaf, inclusive, total = Counter(), Counter(), 0
    for path in argv:
        for line in open(path, encoding="utf-8", errors="replace"):
            stack, _sep, count = line.rstrip("\n").rpartition(" ")
            if not count.isdigit():
                continue
            n = int(count)
            fs = frames(stack)
            if not fs:
                continue
            total += n
            leaf[fs[-1]] += n
            for f in set(fs):
                inclusive[f] += n
    print(f"{total} samples")
    print("\n-- inclusive (function anywhere on the stack) --")
    for f, n in inclusive.most_common(top):
        print(f"{n / total * 100:5.1f}%  {f}")
    print("\n-- self (leaf) --")
    for f, n in leaf.most_common(top):
        print(f"{n / total * 100:5.1f}%  {f}")


if __name__ == "__main__":
    main(sys.argv[1:])
