"""The browser tier reuses the API tier's session key ceremony."""

from tests.api.conftest import keys_dir

__all__ = ["keys_dir"]
