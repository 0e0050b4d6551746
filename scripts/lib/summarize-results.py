#!/usr/bin/env python3
"""Prints scripts/test's closing report: one line per stage, then one summary line.

Usage: summarize-results.py STAGE=STATUS[:GLOB] ...

STATUS is ok, failed, skipped or not-run. GLOB names the JUnit/xUnit XML files the stage wrote
(swift test's --xunit-output, pytest's --junitxml); their test cases are counted. A failed stage
whose files show no failing test case (a build error, a crash before any result) counts as one
failure, so a broken build can never read as "0 failed".

The last line is `summary: N passed, N failed, N skipped`, the plain closing form CI reads.
Standard library only: it runs before and without the venv.
"""

import glob
import sys
import xml.etree.ElementTree as ElementTree


def count_cases(pattern: str) -> tuple[int, int, int]:
    passed = failed = skipped = 0
    for path in sorted(glob.glob(pattern)) if pattern else []:
        try:
            root = ElementTree.parse(path).getroot()
        except (ElementTree.ParseError, OSError) as error:
            print(f"  (unreadable results file {path}: {error})")
            failed += 1
            continue
        for case in root.iter("testcase"):
            tags = {child.tag for child in case}
            if tags & {"failure", "error"}:
                failed += 1
            elif "skipped" in tags:
                skipped += 1
            else:
                passed += 1
    return passed, failed, skipped


def main(arguments: list[str]) -> int:
    totals = [0, 0, 0]
    for argument in arguments:
        name, _, rest = argument.partition("=")
        status, _, pattern = rest.partition(":")
        passed, failed, skipped = count_cases(pattern)
        if status == "failed" and failed == 0:
            failed = 1
        totals[0] += passed
        totals[1] += failed
        totals[2] += skipped
        counts = f"  ({passed} passed, {failed} failed, {skipped} skipped)" if pattern and status != "not-run" else ""
        label = {"ok": "ok", "failed": "FAILED", "skipped": "skipped", "not-run": "not run"}.get(status, status)
        print(f"  {name:<12} {label}{counts}")
    print(f"summary: {totals[0]} passed, {totals[1]} failed, {totals[2]} skipped")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
