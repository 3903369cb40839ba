"""Run the hardening suites: ``python -m hardening [suite ...]`` (default: all)."""
from __future__ import annotations

import argparse
import asyncio
import importlib
import logging

from bench.report import Report

SUITES = ["enumeration"]


def main() -> None:
    parser = argparse.ArgumentParser(prog="python -m hardening")
    parser.add_argument("suites", nargs="*", metavar="suite", help=f"any of {', '.join(SUITES)} (default: all)")
    args = parser.parse_args()
    unknown = [s for s in args.suites if s not in SUITES]
    if unknown:
        parser.error(f"unknown suite(s) {', '.join(unknown)}; choose from {', '.join(SUITES)}")
    logging.basicConfig(level=logging.ERROR)
    for suite in args.suites or SUITES:
        report = Report(suite, prefix="HARDEN", folder="hardening")
        print(f"== {suite}", flush=True)
        asyncio.run(importlib.import_module(f"hardening.{suite}").run(report))
        print(f"   saved {report.save()}", flush=True)


if __name__ == "__main__":
    main()
