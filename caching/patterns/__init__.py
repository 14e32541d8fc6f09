"""Patterns on top of the contract."""
