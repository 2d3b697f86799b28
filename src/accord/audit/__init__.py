"""The audit log: a hash chain of every event, Merkle checkpoints signed by the trust, proofs.

The log is written by :mod:`accord.audit.chain` (installed when a trust opens) and read,
checked and proved through ``trust.audit`` (:class:`accord.audit.service.Audit`). An export
is verified without any trust at hand by :func:`accord.audit.export.verify_export`.
"""

from accord.audit.checkpoints import Checkpoint, read_checkpoint_file
from accord.audit.export import verify_export
from accord.audit.proofs import ConsistencyProof, InclusionProof
from accord.audit.verify import VerifyReport

__all__ = [
    "Checkpoint",
    "ConsistencyProof",
    "InclusionProof",
    "VerifyReport",
    "read_checkpoint_file",
    "verify_export",
]
