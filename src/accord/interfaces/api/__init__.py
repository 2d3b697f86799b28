"""The trust's REST API (FastAPI, versioned under ``/api/v1``) and the server that runs it."""

from accord.interfaces.api.app import create_app

__all__ = ["create_app"]
