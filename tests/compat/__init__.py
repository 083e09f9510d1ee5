"""Compatibility suite: the real OpenStack clients against a running cove (marker ``compat``).

A package so the test modules can share the helpers of ``conftest.py`` by relative import.
"""
