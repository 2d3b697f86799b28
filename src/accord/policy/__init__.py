"""Policy: what an agreement grants, SQL checks against it, and disclosure control."""
