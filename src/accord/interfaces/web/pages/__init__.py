"""One module per group of pages, each with a ``router``."""
