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


def test_renew_closes_the_idle_clients_now_and_the_checked_out_ones_on_return() -> None:
    pool = Pool(Client, close=Client.close)
    with checkout(pool) as first, checkout(pool) as second:
        pass
    with checkout(pool) as held:  # one of the two; the other is idle
        idle = second if held is first else first
        pool.renew()
        assert idle.closed is True
        assert held.closed is False  # in use: closed when it comes back
    assert held.closed is True
    with checkout(pool) as fresh:
        assert fresh not in (first, second)
    with checkout(pool) as again:
        assert again is fresh
    assert fresh.closed is False


def test_renew_also_retires_what_acquire_handed_out() -> None:
    pool = Pool(Client, close=Client.close)
    client = pool.acquire()
    pool.renew()
    pool.get_back(client)
    assert client.closed is True
    assert pool.acquire() is not client


def test_renew_of_a_shared_pool_replaces_its_client() -> None:
    pool = Pool(Client, shared=True, close=Client.close)
    old = pool.acquire()
    pool.renew()
    new = pool.acquire()
    assert new is not old
    assert old.closed is True
    assert pool.acquire() is new
