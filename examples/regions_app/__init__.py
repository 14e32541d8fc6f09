"""A small app whose cache regions are declared in one module
(:mod:`regions_app.cache`), used by another (:mod:`regions_app.catalogue`) at
import time, and configured from ``app.ini`` at start-up (``regions_demo.py``)."""
