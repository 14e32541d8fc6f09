"""Benchmarks: ``caching`` side by side with its peers, in one run, as ratios."""
