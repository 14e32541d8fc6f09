"""Integrations with other caching libraries (each needs its own extra)."""
