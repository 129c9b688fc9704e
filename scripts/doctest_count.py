#!/usr/bin/env python3
"""Counts public functions and methods with and without a doctest, per module.

    python3 scripts/doctest_count.py [src] [-v]

A function counts when a line starts with `pub fn` / `pub async fn` /
`pub const fn` (not `pub(crate)`), outside `#[cfg(test)]` code; it has a
doctest when its `///` block holds a code fence. A module is a folder of
src/ or a file directly in it. `-v` lists the functions without one. It
reads the text only, so a `pub fn` of a private type counts too.
"""
import collections
import os
import re
import sys

FN = re.compile(r'^\s*pub\s+(const\s+)?(async\s+)?(unsafe\s+)?fn\s+(\w+)')


def main():
    args = [a for a in sys.argv[1:] if not a.startswith('-')]
    root = args[0] if args else 'src'
    verbose = '-v' in sys.argv
    totals = collections.OrderedDict()
    missing = collections.defaultdict(list)
    for dirpath, _, files in sorted(os.walk(root)):
        for name in sorted(files):
            if not name.endswith('.rs'):
                continue
            path = os.path.join(dirpath, name)
            rel = os.path.relpath(path, root)
            module = rel.split('/')[0]
            lines = open(path, encoding='utf-8').read().split('\n')
            in_test = False
            for i, line in enumerate(lines):
                if re.match(r'^\s*#\[cfg\(test\)\]', line):
                    in_test = True
                m = FN.match(line)
                if in_test or not m:
                    continue
                j, doc = i - 1, []
                while j >= 0 and re.match(r'^\s*(///|#\[|//)', lines[j]):
                    doc.append(lines[j])
                    j -= 1
                has = any('```' in d for d in doc if d.strip().startswith('///'))
                count = totals.setdefault(module, [0, 0])
                count[0] += 1
                count[1] += has
                if not has:
                    missing[module].append(f'{rel}:{i + 1} {m.group(4)}')
    total = [0, 0]
    for module, (n, documented) in totals.items():
        print(f'{module:16} {documented:4} of {n:<4} with a doctest')
        total[0] += n
        total[1] += documented
        if verbose:
            for item in missing[module]:
                print('    ', item)
    print(f'{"total":16} {total[1]:4} of {total[0]:<4}')


if __name__ == '__main__':
    main()
