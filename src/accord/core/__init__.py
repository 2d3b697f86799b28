"""The trust's core: configuration, metadata store, analytical engine and cryptography."""
