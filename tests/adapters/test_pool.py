"""caching.adapters.pool: one checkout context manager, fork safety."""

from __future__ import annotations

import os

import pytest

from caching.adapters.pool import Pool, checkout


class Client:
    def __init__(self) -> None:
        self.closed = False
        self.pid = os.getpid()

    def close(self) -> None:
        self.closed = True


def test_checkout_reuses_the_client_given_back() -> None:
    pool = Pool(Client, max_idle=1, close=Client.close)
    with checkout(pool) as first, checkout(pool) as second:
        assert second is not first
    with checkout(pool) as again:
        assert again in (first, second)
    assert first.closed or second.closed  # one too many for max_idle=1


def test_checkout_gives_back_when_the_block_raises() -> None:
    pool = Pool(Client)
    with pytest.raises(RuntimeError), checkout(pool) as client:
        raise RuntimeError
    assert pool.acquire() is client


def test_shared_pool_hands_out_one_client() -> None:
    pool = Pool(Client, shared=True)
    assert pool.acquire() is pool.acquire()


@pytest.mark.parametrize("shared", [False, True])
def test_forked_child_gets_its_own_client_and_leaves_the_parents_open(shared: bool) -> None:
    pool = Pool(Client, shared=shared, close=Client.close)
    with checkout(pool) as parents:
        pass
    read, write = os.pipe()
    pid = os.fork()
    if pid == 0:  # pragma: no cover - runs in the child
        with checkout(pool) as childs:
            fresh = childs is not parents and childs.pid == os.getpid()
        pool.close()
        os.write(write, b"1" if fresh and not parents.closed else b"0")
        os._exit(0)
    os.waitpid(pid, 0)
    assert os.read(read, 1) == b"1"
    os.close(read)
    os.close(write)
    assert not parents.closed
    assert pool.acquire() is parents


def test_max_idle_must_be_positive() -> None:
    with pytest.raises(ValueError, match="max_idle"):
        Pool(Client, max_idle=0)
