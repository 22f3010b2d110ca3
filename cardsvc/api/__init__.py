"""The FastAPI service (the only package that imports fastapi): `create_app(settings)`."""

from cardsvc.api.app import create_app
from cardsvc.api.settings import ReaderMode, Settings

__all__ = ["ReaderMode", "Settings", "create_app"]
