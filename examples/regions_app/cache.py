"""The app's cache regions, declared at import time: no backend yet.

The modules that cache import these and decorate with them; the start-up
code configures them (``caching.configure``) from the app's config.
"""

from __future__ import annotations

from caching.regions import Region

short_term = Region("short_term")  # pages, lists: seconds to minutes
long_term = Region("long_term")  # reference data: an hour
