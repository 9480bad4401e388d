"""The tamper-evident audit log: recording events, sequencing them into an RFC 6962 Merkle tree, signed
checkpoints (C2SP signed notes), proofs and verification. soc/monitoring will sit beside it."""

from egov.soc.audit.types import SocAudit

__all__ = ["SocAudit"]
