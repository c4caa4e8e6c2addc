#!/usr/bin/env python3
"""Checks that the GoogleTest filters of the meson suites select every test of
their executable exactly once (a test no filter names would never run).

Usage: suites_cover_every_test.py EXE FILTER,FILTER,... [EXE FILTERS ...]
"""
import fnmatch
import subprocess
import sys


def tests_of(exe):
    listing = subprocess.run([exe, "--gtest_list_tests"], check=True, capture_output=True, text=True).stdout
    suite, names = None, []
    for line in listing.splitlines():
        if not line.strip():
            continue
        if not line.startswith(" "):
            suite = line.split("#")[0].strip()
        else:
            names.append(suite + line.split("#")[0].strip())
    return names


def main(argv):
    if len(argv) < 2 or len(argv) % 2:
        sys.exit(__doc__)
    problems = []
    for exe, filters in zip(argv[0::2], argv[1::2]):
        patterns = [p for f in filters.split(",") for p in f.split(":")]
        names = tests_of(exe)
        for name in names:
            hits = [p for p in patterns if fnmatch.fnmatchcase(name, p)]
            if len(hits) != 1:
                problems.append(f"{exe}: {name} is selected by {len(hits)} suites ({', '.join(hits) or 'none'})")
        print(f"{exe}: {len(names)} tests, each in one suite")
    for p in problems:
        print(p)
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
