"""An async web service (Starlette) caching a slow lookup with AsyncCached:
50 concurrent requests for one product run its query once.

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

from caching.aio import from_url
from caching.aio.cached import AsyncCached
from caching.patterns import key_builder

URL = sys.argv[1] if __name__ == "__main__" and len(sys.argv) > 1 else "memory://"
cache = from_url(os.environ.get("CACHE_URL", URL))
# A prefix of its own per run: the example never reads an earlier run's items.
cached = AsyncCached(cache, key_builder(f"shop-{uuid.uuid4().hex[:8]}"), time=60, timeout=10)
queries: list[int] = []


@cached.wraps_get_or_create()
async def load_product(product_id: int) -> dict[str, object]:
    queries.append(product_id)
    await asyncio.sleep(0.2)  # a slow database query
    return {"id": product_id, "name": f"product {product_id}", "price_cents": 1999}


async def product(request: Request) -> JSONResponse:
    return JSONResponse(await load_product(int(request.path_params["product_id"])))


async def health(request: Request) -> JSONResponse:
    return JSONResponse(await cache.ping())


async def close() -> None:
    closing = getattr(cache, "close", None)
    if closing is not None:
        await closing()


@contextlib.asynccontextmanager
async def lifespan(app: Starlette) -> AsyncIterator[None]:
    yield
    await close()  # memcached: its connections, at shutdown


app = Starlette(
    routes=[Route("/products/{product_id:int}", product), Route("/health", health)],
    lifespan=lifespan,
)


async def main() -> None:
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://shop") as client:
        answers = await asyncio.gather(*(client.get("/products/7") for _ in range(50)))
        assert [answer.status_code for answer in answers] == [200] * 50
        assert all(answer.json()["name"] == "product 7" for answer in answers)
        assert queries == [7], queries  # one query for 50 concurrent misses
        again = await client.get("/products/7")
        assert again.json()["price_cents"] == 1999
        assert queries == [7]  # a hit
        health_answer = (await client.get("/health")).json()
        assert all(seconds is not None for seconds in health_answer.values()), health_answer
    await close()
    print(f"50 concurrent requests, {len(queries)} query; health: {health_answer}")


if __name__ == "__main__":
    asyncio.run(main())
