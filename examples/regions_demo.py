"""Cache regions declared in one module, configured from an INI file in another.

``regions_app/cache.py`` declares the regions, ``regions_app/catalogue.py``
decorates with them at import time, and this start-up code configures them
from ``regions_app/app.ini`` (a URL argument replaces the file's URLs, to run
on memcached).
"""

from __future__ import annotations

import configparser
import sys
from pathlib import Path

import caching
from caching import RegionNotConfiguredError
from regions_app import catalogue
from regions_app.cache import long_term, short_term

shop = catalogue.Catalogue()
try:
    shop.price("tea")
except RegionNotConfiguredError as error:  # imported, not configured yet
    print("before start-up:", error)
else:
    raise AssertionError("a region answered before it was configured")

config = configparser.ConfigParser()
config.read(Path(__file__).parent / "regions_app" / "app.ini")
settings = config["app:main"]
if len(sys.argv) > 1:
    for name in ("short_term", "long_term"):
        settings[f"cache.{name}.url"] = sys.argv[1]
regions = caching.configure(settings, prefix="cache.")
assert regions["short_term"] is short_term
assert short_term.backend is long_term.backend  # equal URLs: one backend
for region in regions.values():
    region.invalidate()  # start from a new generation (a shared server keeps items)
print("regions:", ", ".join(f"{name} ({region.time} s)" for name, region in regions.items()))

queries = catalogue.queries
assert [shop.price("tea"), shop.price("tea")] == [4.5, 4.5]
assert queries == ["price tea"]  # one query, one hit

shop.update_price("tea", 5.0)  # invalidates that one item
assert shop.price("tea") == 5.0
assert queries == ["price tea", "price tea"]

assert [shop.find("mate"), shop.find("mate")] == [None, None]
assert queries.count("find mate") == 1  # negative caching

assert catalogue.country_name("uk") == catalogue.country_name("uk") == "United Kingdom"
assert queries.count("country uk") == 1

long_term.invalidate()  # the whole region, in every process sharing it
assert catalogue.country_name("uk") == "United Kingdom"
assert queries.count("country uk") == 2
assert shop.price("tea") == 5.0  # short_term untouched
assert queries.count("price tea") == 2

print("queries:", queries)
print("ok")
