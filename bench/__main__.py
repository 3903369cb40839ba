"""Run the benchmark suites: ``python -m bench [suite ...]`` (default: all)."""
from __future__ import annotations

import argparse
import asyncio
import importlib
import logging

from bench.report import Report

SUITES = ["events", "cofor", "support", "identity"]


def main() -> None:
    parser = argparse.ArgumentParser(prog="python -m bench")
    parser.add_argument("suites", nargs="*", metavar="suite", help=f"any of {', '.join(SUITES)} (default: all)")
    args = parser.parse_args()
    unknown = [s for s in args.suites if s not in SUITES]
    if unknown:
        parser.error(f"unknown suite(s) {', '.join(unknown)}; choose from {', '.join(SUITES)}")
    args.suites = args.suites or SUITES
    logging.basicConfig(level=logging.ERROR)
    for suite in args.suites:
        module = importlib.import_module(f"bench.{suite}")
        report = Report(suite)
        print(f"== {suite}", flush=True)
        asyncio.run(module.run(report))
        print(f"   saved {report.save()}", flush=True)


if __name__ == "__main__":
    main()
