"""Benchmarks (design §6): ``python -m bench`` (``make bench``) measures and writes bench/results/.

Numbers are measured here, never asserted by timed tests.
"""
