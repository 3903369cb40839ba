"""Real components for tests, benchmarks and the dev stack: NATS server, PostgreSQL cluster, SMTP sink."""
