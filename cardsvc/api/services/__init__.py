"""Business logic of the service: plain functions over a Session and the AppContext; no FastAPI here."""
