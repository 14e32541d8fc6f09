"""A catalogue whose reads are cached in the app's regions."""

from __future__ import annotations

from regions_app.cache import long_term, short_term

PRICES = {"tea": 4.5, "coffee": 6.0}
COUNTRIES = {"uk": "United Kingdom", "fr": "France"}
queries: list[str] = []  # stands for the database's query log


class Catalogue:
    @short_term.cache_on_arguments  # herd-safe, as dogpile.cache's
    def price(self, item: str) -> float:
        queries.append(f"price {item}")
        return PRICES[item]

    @short_term(cache_none=True)  # an unknown item is asked for once
    def find(self, item: str) -> float | None:
        queries.append(f"find {item}")
        return PRICES.get(item)

    def update_price(self, item: str, value: float) -> None:
        PRICES[item] = value
        self.price.invalidate(item)  # one call's item, through the instance


@long_term
def country_name(code: str) -> str:
    queries.append(f"country {code}")
    return COUNTRIES[code]
