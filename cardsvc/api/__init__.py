"""The FastAPI service (the only package that imports fastapi): `create_app(settings)`."""

from cardsvc.api.app import create_app
from cardsvc.settings import ReaderMode, Settings  # re-exported: the service's callers build settings

__all__ = ["ReaderMode", "Settings", "create_app"]
