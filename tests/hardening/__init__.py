"""Quick runs of the hardening suites (python -m hardening runs them at full size)."""
