"""Residence-permit (居住证) IC card middleware: host side."""

__version__ = "0.1.0"
