"""Security monitoring: the tamper-evident audit log, its proofs and checkpoints."""
