"""Print 'N passed, N failed, N errors, N skipped' from a pytest JUnit XML report."""

import sys
import xml.etree.ElementTree as ElementTree

suite = ElementTree.parse(sys.argv[1]).getroot()
if suite.tag == "testsuites":
    suite = suite[0]
tests, failures, errors, skipped = (
    int(suite.get(name, "0")) for name in ("tests", "failures", "errors", "skipped")
)
passed = tests - failures - errors - skipped
print(f"{passed} passed, {failures} failed, {errors} errors, {skipped} skipped")
sys.exit(0 if tests > 0 else 1)
