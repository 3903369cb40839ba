"""Run the benchmark suites: ``python -m bench [suite ...]`` (default: all)."""
from bench.report import run_suites

if __name__ == "__main__":
    run_suites("bench", ["events", "cofor", "support", "identity", "passkeys", "oidc", "console"])
