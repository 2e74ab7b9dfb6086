"""Helpers shared by the tests (fixtures live in the conftest.py files; fakes in tests/fakes).

Test modules import from here, never from each other.
"""
