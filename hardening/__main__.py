"""Run the hardening suites: ``python -m hardening [suite ...]`` (default: all)."""
from bench.report import run_suites

if __name__ == "__main__":
    run_suites("hardening", ["enumeration"], prefix="HARDEN")
