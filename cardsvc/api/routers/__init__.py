"""Thin FastAPI routers: parse, check the role, call a service, shape the answer."""
