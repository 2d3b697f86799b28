"""The ways people reach the trust: command line, REST API and web pages. Thin by design."""
