"""One line per figure: ``BENCH <name> <value> <unit> target <target>``; the same figures as JSON."""
from __future__ import annotations

import argparse
import asyncio
import importlib
import json
import logging
import operator
import os
import platform
import re
import statistics
import sys
import time
from pathlib import Path
from typing import TypedDict

_COMPARISONS = {"<": operator.lt, "<=": operator.le, ">": operator.gt, ">=": operator.ge, "=": operator.eq,
                "": operator.eq}
_TARGET = re.compile(r"^\s*(<=|>=|<|>|=)?\s*(-?[\d,]*\.?\d+)\s*$")


def meets(value: float, target: str) -> bool | None:
    """Whether ``value`` meets a plain numeric target such as ``0``, ``< 5`` or ``>= 5000``; None when the target
    is not one (``baseline``, ``>= 0.8 x raw argon2``, ``(report)``)."""
    match = _TARGET.match(target)
    if not match:
        return None
    return bool(_COMPARISONS[match.group(1) or ""](value, float(match.group(2).replace(",", ""))))


class Figure(TypedDict):
    name: str
    value: float
    unit: str
    target: str
    note: str
    met: bool | None  # None: the target is not a plain number


class Report:
    def __init__(self, suite: str, prefix: str = "BENCH", folder: str = "bench") -> None:
        self.suite = suite
        self.prefix = prefix
        self.folder = folder
        self.figures: list[Figure] = []

    def add(self, name: str, value: float, unit: str, target: str, note: str = "") -> None:
        shown = f"{value:.3f}" if abs(value) < 100 else f"{value:.0f}"
        verdict = meets(value, target)
        line = f"{self.prefix} {name} {shown} {unit} target {target}" + ("" if verdict is not False else "  MISSED")
        print(line + (f"   # {note}" if note else ""), flush=True)
        self.figures.append({"name": name, "value": value, "unit": unit, "target": target, "note": note,
                             "met": verdict})

    def missed(self) -> list[str]:
        return [str(f["name"]) for f in self.figures if f["met"] is False]

    def save(self) -> Path:
        out = Path(os.environ.get("PORTAL_VAR_DIR", "var")) / self.folder
        out.mkdir(parents=True, exist_ok=True)
        path = out / f"{self.suite}.json"
        path.write_text(json.dumps({"suite": self.suite, "time": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
                                    "machine": {"python": platform.python_version(), "cpus": os.cpu_count()},
                                    "figures": self.figures}, indent=2))
        return path


def percentile(values: list[float], p: float) -> float:
    if not values:
        return float("nan")
    ordered = sorted(values)
    k = (len(ordered) - 1) * p / 100
    lo, hi = int(k), min(int(k) + 1, len(ordered) - 1)
    return ordered[lo] + (ordered[hi] - ordered[lo]) * (k - lo)


def median(values: list[float]) -> float:
    return statistics.median(values) if values else float("nan")


def run_suites(package: str, suites: list[str], *, prefix: str = "BENCH", quick_option: bool = False,
               strict: bool = False) -> None:
    """The command line of ``python -m bench`` and ``python -m hardening``: run the named suites (default: all).
    With ``quick_option``, ``--quick`` runs each suite at the small size used inside ``make test``; ``strict`` makes
    the command fail when a figure misses its target."""
    parser = argparse.ArgumentParser(prog=f"python -m {package}")
    parser.add_argument("suites", nargs="*", metavar="suite", help=f"any of {', '.join(suites)} (default: all)")
    if quick_option:
        parser.add_argument("--quick", action="store_true", help="the small samples that run inside make test")
    args = parser.parse_args()
    options = {"quick": True} if getattr(args, "quick", False) else {}
    unknown = [s for s in args.suites if s not in suites]
    if unknown:
        parser.error(f"unknown suite(s) {', '.join(unknown)}; choose from {', '.join(suites)}")
    logging.basicConfig(level=logging.ERROR)
    missed: list[str] = []
    figures = 0
    for suite in args.suites or suites:
        report = Report(suite, prefix=prefix, folder=package)
        print(f"== {suite}", flush=True)
        asyncio.run(importlib.import_module(f"{package}.{suite}").run(report, **options))
        print(f"   saved {report.save()}", flush=True)
        missed += report.missed()
        figures += len(report.figures)
    print(f"{prefix} summary: {figures} figures, {len(missed)} missed their target"
          + (f" ({', '.join(missed)})" if missed else ""), flush=True)
    if strict and missed:
        sys.exit(1)
