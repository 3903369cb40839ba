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
    parser.add_argument("suites", nargs="*", choices=SUITES, default=SUITES)
    args = parser.parse_args()
    logging.basicConfig(level=logging.ERROR)
    for suite in args.suites:
        module = importlib.import_module(f"bench.{suite}")
        report = Report(suite)
        print(f"== {suite}", flush=True)
        asyncio.run(module.run(report))
        print(f"   saved {report.save()}", flush=True)


if __name__ == "__main__":
    main()
