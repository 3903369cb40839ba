"""`make hardening`: security and reliability suites with figures (one line each, like `make bench`)."""
