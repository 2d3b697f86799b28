"""The agreement lifecycle: propose, sign, activate, expire, revoke — and enforcement."""
