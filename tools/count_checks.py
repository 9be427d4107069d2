"""Counts the checks of the test suite, to compare two layouts of it.

    python tools/count_checks.py [TESTS_DIR]

Prints three figures:
  collected    test cases pytest collects (`pytest --collect-only -q`);
  distinct     checks written in the test files: `assert` statements and calls of check helpers
               (`check_*`, `assert_*`, `pytest.raises`, `pytest.warns`, `_close`, ...), each counted once
               where it is written, in test functions and in the helpers they call;
  per case     for every collected case, the checks written in its test function (nested functions
               included), summed over the cases.
"""

import ast
import collections
import pathlib
import re
import subprocess
import sys

CHECK_CALL = re.compile(r"^_?(check\w*|assert\w*|close|same_\w*|module_matches_torch|load_from_torch|raises|warns|approx)$")


def _call_name(node):
    f = node.func
    return f.attr if isinstance(f, ast.Attribute) else f.id if isinstance(f, ast.Name) else ""


def count_checks(node):
    n = 0
    for sub in ast.walk(node):
        if isinstance(sub, ast.Assert):
            n += 1
        elif isinstance(sub, ast.Call) and CHECK_CALL.match(_call_name(sub)):
            n += 1
    return n


def functions(tree):
    """test name -> node, for module-level functions and methods of classes."""
    out = {}
    for node in tree.body:
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)):
            out[node.name] = node
        elif isinstance(node, ast.ClassDef):
            for sub in node.body:
                if isinstance(sub, (ast.FunctionDef, ast.AsyncFunctionDef)):
                    out[f"{node.name}::{sub.name}"] = sub
    return out


def main():
    tests = pathlib.Path(sys.argv[1] if len(sys.argv) > 1 else "tests")
    files = sorted(p for p in tests.rglob("*.py") if "reference" not in p.parts or p.name.startswith("test_"))
    distinct = sum(count_checks(ast.parse(p.read_text())) for p in files)
    out = subprocess.run([sys.executable, "-m", "pytest", "--collect-only", "-q", "-p", "no:cacheprovider", str(tests)],
                         capture_output=True, text=True).stdout.splitlines()
    ids = [line for line in out if "::" in line]
    cases = collections.Counter(re.sub(r"\[.*$", "", i) for i in ids)
    trees = {}
    per_case = 0
    for nodeid, k in cases.items():
        path, name = nodeid.split("::", 1)
        if path not in trees:
            trees[path] = functions(ast.parse(pathlib.Path(path).read_text()))
        per_case += k * count_checks(trees[path][name])
    print(f"collected {len(ids)}")
    print(f"distinct  {distinct}")
    print(f"per case  {per_case}")


if __name__ == "__main__":
    main()
