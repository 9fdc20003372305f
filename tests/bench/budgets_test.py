#!/usr/bin/python3
"""ctest bench.budgets: the bench judges runs against tests/bench/budgets.json.

Rewrites the report of a real `make bench` run (fixtures/bench-results.json:
a short run on the project's machine, W1 pairs with perfwired, its BPF
ns/event, self-cost at 2,000 threads, Google Benchmark, end-to-end;
read through run_bench.py's REPORT_FROM, no root) and checks that every budget row
quotes budgets.json, that a changed budgets file (BENCH_BUDGETS) changes the
verdicts, and that the driver names no file outside the repository.
Stdlib only; run with /usr/bin/python3 or any python3.
"""

import json
import os
import re
import subprocess
import sys
import tempfile
import unittest

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(os.path.dirname(HERE))
DRIVER = os.path.join(HERE, "run_bench.py")
BUDGETS = os.path.join(HERE, "budgets.json")
FIXTURE = os.path.join(HERE, "fixtures", "bench-results.json")


def budget_rows(markdown):
    """what -> (budget, measured, verdict) of the report's budget table."""
    rows = {}
    section = markdown.split("## Budgets (", 1)[1].split("\n## ", 1)[0]
    for line in section.splitlines():
        cells = [c.strip() for c in line.strip().strip("|").split("|")]
        if len(cells) == 4 and cells[0] not in ("what", "---"):
            rows[cells[0]] = tuple(cells[1:])
    return rows


class BudgetsTest(unittest.TestCase):
    def report(self, budgets=None):
        with tempfile.TemporaryDirectory() as tmp:
            out = os.path.join(tmp, "BENCHMARKS.md")
            env = dict(os.environ, REPORT_FROM=FIXTURE, BENCH_OUT=out,
                       BUILD_DIR=tmp)
            env.pop("BENCH_BUDGETS", None)
            if budgets is not None:
                path = os.path.join(tmp, "proposed.json")
                with open(path, "w", encoding="utf-8") as f:
                    json.dump(budgets, f)
                env["BENCH_BUDGETS"] = path
            done = subprocess.run([sys.executable, DRIVER], env=env,
                                  capture_output=True, text=True, check=False)
            self.assertEqual(done.returncode, 0, done.stderr)
            with open(out, encoding="utf-8") as f:
                return f.read()

    def test_budgets_file_is_complete(self):
        with open(BUDGETS, encoding="utf-8") as f:
            budgets = json.load(f)
        for name in ("live_thread", "exit", "sched_switch", "page_fault",
                     "agent_cpu", "agent_rss", "frame_build", "e2e_slack"):
            for key in ("max", "unit", "what", "measured_by"):
                self.assertIn(key, budgets[name], name)
        self.assertTrue(budgets["slowdown"])
        for b in budgets["slowdown"]:
            self.assertLess(0, b["max"], b)
        self.assertIn("bpftrace_switch_ns", budgets["reference"])

    def test_report_quotes_the_budgets_file(self):
        with open(BUDGETS, encoding="utf-8") as f:
            budgets = json.load(f)
        text = self.report()
        self.assertIn("## Budgets (tests/bench/budgets.json) against this run", text)
        rows = budget_rows(text)
        self.assertIn("agent CPU, 1 s interval, 2,000 threads", rows)
        self.assertEqual(rows["agent CPU, 1 s interval, 2,000 threads"][0],
                         "≤ %g%% of one core" % budgets["agent_cpu"]["max"])
        self.assertEqual(rows["agent RSS, 2,000 threads"][0],
                         "≤ %g MB" % budgets["agent_rss"]["max"])
        self.assertEqual(rows["frame build, 10,000 threads"][0],
                         "≤ %g ms" % budgets["frame_build"]["max"])
        self.assertNotIn("PERFORMANCE.md", text)

    def test_changed_budgets_change_the_verdicts(self):
        with open(BUDGETS, encoding="utf-8") as f:
            budgets = json.load(f)
        rss = "agent RSS, 2,000 threads"
        build = "frame build, 10,000 threads"
        rows = budget_rows(self.report())
        self.assertEqual(rows[rss][2], "PASS")
        measured_mb = float(rows[rss][1].split()[0])
        measured_ms = float(rows[build][1].split()[0])
        self.assertGreater(measured_mb, 0)
        self.assertGreater(measured_ms, 0)
        # Below and above what this run measured.
        budgets["agent_rss"]["max"] = measured_mb / 2
        budgets["frame_build"]["max"] = measured_ms / 2
        tight = budget_rows(self.report(budgets))
        self.assertEqual(tight[rss], ("≤ %g MB" % (measured_mb / 2), rows[rss][1], "**MISS**"))
        self.assertEqual(tight[build][2], "**MISS**")
        budgets["agent_rss"]["max"] = measured_mb * 2
        budgets["frame_build"]["max"] = measured_ms * 2
        loose = budget_rows(self.report(budgets))
        self.assertEqual(loose[rss], ("≤ %g MB" % (measured_mb * 2), rows[rss][1], "PASS"))
        self.assertEqual(loose[build][2], "PASS")

    def test_driver_names_no_file_outside_the_repository(self):
        with open(DRIVER, encoding="utf-8") as f:
            source = f.read()
        self.assertIsNone(re.search(r"/work/|\.\./shared|PERFORMANCE\.md", source))


if __name__ == "__main__":
    unittest.main()
