"""Events over NATS JetStream: outbox + relay on the producing side, durable consumer + inbox on the other."""
