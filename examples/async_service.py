"""An async web service (Starlette) caching a slow lookup in a cache region:
50 concurrent requests for one product run its query once; a price update
invalidates that product, an admin call the whole region.

The region is declared at import time, where the function is decorated,
and configured at start-up (the app's lifespan), as a sync
:class:`~caching.regions.Region` is: :class:`caching.aio.regions.AsyncRegion`
is its twin for ``async def`` functions over an async backend.

Run: ``python examples/async_service.py [URL]`` (``memory://`` by default, or
``memcached://host:port``); the script drives the app in process through
httpx's ASGI transport and checks the answers. Serve it for real with
``uvicorn examples.async_service:app`` (``CACHE_URL`` names the cache).
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import sys
import uuid
from collections.abc import AsyncIterator

import httpx
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route

from caching.aio.regions import AsyncRegion

URL = sys.argv[1] if __name__ == "__main__" and len(sys.argv) > 1 else "memory://"
# A region name of its own per run: the example never reads an earlier run's items.
products = AsyncRegion(f"shop_{uuid.uuid4().hex[:8]}", time=60, timeout=10)
prices = {7: 1999}
queries: list[int] = []


@products.cache_on_arguments
async def load_product(product_id: int) -> dict[str, object]:
    queries.append(product_id)
    await asyncio.sleep(0.2)  # a slow database query
    return {"id": product_id, "name": f"product {product_id}", "price_cents": prices[product_id]}


async def product(request: Request) -> JSONResponse:
    return JSONResponse(await load_product(int(request.path_params["product_id"])))


async def update_price(request: Request) -> JSONResponse:
    product_id = int(request.path_params["product_id"])
    prices[product_id] = int((await request.json())["price_cents"])
    # Never lost, even while a request is rebuilding this very item.
    await load_product.invalidate(product_id)
    return JSONResponse({"updated": product_id})


async def flush(request: Request) -> JSONResponse:
    return JSONResponse({"invalidated": await products.invalidate()})  # the whole region


async def health(request: Request) -> JSONResponse:
    return JSONResponse(await products.cache.ping())


@contextlib.asynccontextmanager
async def lifespan(app: Starlette) -> AsyncIterator[None]:
    products.configure(os.environ.get("CACHE_URL", URL))  # at start-up
    yield
    await products.close()  # memcached: its connections, at shutdown


app = Starlette(
    routes=[
        Route("/products/{product_id:int}", product),
        Route("/products/{product_id:int}/price", update_price, methods=["PUT"]),
        Route("/admin/flush", flush, methods=["POST"]),
        Route("/health", health),
    ],
    lifespan=lifespan,
)


async def main() -> None:
    transport = httpx.ASGITransport(app=app)  # runs no lifespan: enter it here
    async with (
        lifespan(app),
        httpx.AsyncClient(transport=transport, base_url="http://shop") as client,
    ):
        answers = await asyncio.gather(*(client.get("/products/7") for _ in range(50)))
        assert [answer.status_code for answer in answers] == [200] * 50
        assert all(answer.json()["price_cents"] == 1999 for answer in answers)
        assert queries == [7], queries  # one query for 50 concurrent misses
        again = await client.get("/products/7")
        assert again.json()["price_cents"] == 1999
        assert queries == [7]  # a hit
        await client.put("/products/7/price", json={"price_cents": 2499})
        assert (await client.get("/products/7")).json()["price_cents"] == 2499
        assert queries == [7, 7]  # invalidated: made again
        assert (await client.post("/admin/flush")).json() == {"invalidated": True}
        assert (await client.get("/products/7")).json()["price_cents"] == 2499
        assert queries == [7, 7, 7]  # a new generation of the region
        health_answer = (await client.get("/health")).json()
        assert all(seconds is not None for seconds in health_answer.values()), health_answer
    print(f"50 concurrent requests, {len(queries)} queries in all; health: {health_answer}")


if __name__ == "__main__":
    asyncio.run(main())
