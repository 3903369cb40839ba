"""Run the hardening suites: ``python -m hardening [--quick] [suite ...]`` (default: all, at full size).
Exits 1 when a figure misses its target."""
from bench.report import run_suites

SUITES = ["enumeration", "brute_force", "isolation", "secrets", "smtp_outage", "screenshots", "abuse", "fuzz",
          "fuzz_oidc", "chaos"]

if __name__ == "__main__":
    run_suites("hardening", SUITES, prefix="HARDEN", quick_option=True, strict=True)
