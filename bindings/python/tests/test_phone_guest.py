"""The wallet as a guest in a phone app, through the Python bindings:
local reads answer while a sync hangs on a chain node and a relay that
never answer, a cancel returns at once, one wallet object per file, a
sync that cannot get its turn says BUSY, and shutdown() releases
everything at once."""
import asyncio
import os
import socket
import time

import pytest

import conftest
import fio_peer
from conftest import open_wallet

# The bounds: a local read within 50 ms, a cancel within 100 ms.
READ_BOUND = 0.050
CANCEL_BOUND = 0.100


class BlackHole:
    """Takes connections (the kernel completes them) and never answers."""

    def __init__(self):
        self.sock = socket.socket()
        self.sock.bind(("127.0.0.1", 0))
        self.sock.listen(64)
        self.url = f"http://127.0.0.1:{self.sock.getsockname()[1]}"

    def close(self):
        self.sock.close()


@pytest.fixture
def hole():
    h = BlackHole()
    yield h
    h.close()


def hung_wallet(tmp_path, hole):
    """Alice with a chain node and a relay that never answer."""
    return fio_peer.FioWallet.open(conftest.key("alice"), fio_peer.WalletConfig(
        database_path=str(tmp_path / "alice.sqlite"),
        fio_address="alice@bind",
        network=fio_peer.Network.CUSTOM(chain_id=os.environ["FIO_TEST_CHAIN_ID"]),
        chain_nodes=[hole.url],
        relay=hole.url,
        chain_timeout_seconds=60,
        relay_timeout_seconds=60,
    ))


def reads(wallet):
    friends = wallet.friends()
    return {
        "queue": wallet.queue,
        "channels": wallet.channels,
        "channel": lambda: wallet.channel("bob@bind"),
        "history": lambda: wallet.history("bob@bind"),
        "requests": lambda: wallet.requests(None),
        "outbox": wallet.outbox,
        "events": wallet.events,
        "handled_event_id": wallet.handled_event_id,
        "inbox": wallet.inbox,
        "automation": wallet.automation,
        "fio_address": wallet.fio_address,
        "public_key": wallet.public_key,
        "friend_count": friends.friend_count,
        "friends": lambda: friends.friends(10, 0),
        "own_nbpas": friends.own_nbpas,
    }


def test_local_reads_answer_while_a_sync_and_a_lookup_hang(tmp_path, hole):
    alice = hung_wallet(tmp_path, hole)
    handle = fio_peer.SyncCancel()

    async def run():
        # The sync hangs creating the inbox on the relay, open_channel
        # looking Bob up on the chain node.
        sync = asyncio.create_task(alice.sync(handle))
        lookup = asyncio.create_task(alice.open_channel("bob@bind", None))
        await asyncio.sleep(0.5)
        assert not sync.done() and not lookup.done()
        took = {}
        for name, read in reads(alice).items():
            started = time.monotonic()
            read()
            took[name] = time.monotonic() - started
        print({k: f"{v * 1000:.2f} ms" for k, v in took.items()})
        for name, t in took.items():
            assert t < READ_BOUND, (name, t)
        cancelled_at = time.monotonic()
        handle.cancel()
        with pytest.raises(fio_peer.FioPeerError.Cancelled):
            await sync
        assert time.monotonic() - cancelled_at < CANCEL_BOUND
        lookup.cancel()
        with pytest.raises(asyncio.CancelledError):
            await lookup

    asyncio.run(run())


def test_a_cancel_returns_at_once_and_the_next_sync_runs(tmp_path, hole):
    alice = hung_wallet(tmp_path, hole)

    async def run():
        for _ in range(3):
            handle = fio_peer.SyncCancel()
            sync = asyncio.create_task(alice.sync(handle))
            await asyncio.sleep(0.3)
            assert not sync.done()
            cancelled_at = time.monotonic()
            handle.cancel()
            with pytest.raises(fio_peer.FioPeerError.Cancelled):
                await sync
            took = time.monotonic() - cancelled_at
            print(f"cancelled in {took * 1000:.2f} ms")
            assert took < CANCEL_BOUND
        # The next sync got its turn at once: it ran into the hole until
        # its budget, it did not wait for an abandoned one (BUSY).
        done = await alice.sync_within(fio_peer.SyncOptions(time_budget_ms=300))
        assert done.stopped == fio_peer.SyncStop.BUDGET

    asyncio.run(run())


def test_a_second_open_of_one_file_is_refused_naming_it(tmp_path):
    alice = open_wallet(tmp_path, "alice")
    with pytest.raises(fio_peer.FioPeerError.AlreadyOpen) as e:
        open_wallet(tmp_path, "alice")
    assert e.value.code() == 11
    assert e.value.path == str((tmp_path / "alice.sqlite").resolve())
    alice.shutdown()
    open_wallet(tmp_path, "alice")


def test_a_sync_that_waits_out_its_budget_for_another_says_busy(tmp_path):
    asyncio.run(open_wallet(tmp_path, "alice").sync())
    alice = open_wallet(tmp_path, "alice", long_poll_seconds=20)
    handle = fio_peer.SyncCancel()

    async def run():
        polling = asyncio.create_task(alice.sync(handle))
        await asyncio.sleep(0.3)
        started = time.monotonic()
        busy = await alice.sync_within(fio_peer.SyncOptions(time_budget_ms=500))
        assert busy.stopped == fio_peer.SyncStop.BUSY
        assert (busy.fetched, busy.delivered) == (0, 0)
        assert 0.5 <= time.monotonic() - started < 3
        handle.cancel()
        with pytest.raises(fio_peer.FioPeerError.Cancelled):
            await polling

    asyncio.run(run())


def test_shutdown_ends_everything_at_once_and_frees_the_file(tmp_path, hole):
    alice = hung_wallet(tmp_path, hole)
    friends = alice.friends()

    async def run():
        sync = asyncio.create_task(alice.sync())
        adding = asyncio.create_task(friends.add_friend("bob@bind"))
        await asyncio.sleep(0.5)
        assert not sync.done() and not adding.done()
        shut_at = time.monotonic()
        alice.shutdown()
        with pytest.raises(fio_peer.FioPeerError.Closed) as e:
            await sync
        assert e.value.code() == 12
        with pytest.raises(fio_peer.FioPeerError.Closed):
            await adding
        assert time.monotonic() - shut_at < CANCEL_BOUND
        with pytest.raises(fio_peer.FioPeerError.Closed):
            await alice.sync()
        with pytest.raises(fio_peer.FioPeerError.Closed):
            await friends.is_on_friend_list_of("bob@bind")

    asyncio.run(run())
    for name, read in reads(alice).items():
        if name in ("fio_address", "public_key"):
            assert read()
            continue
        with pytest.raises(fio_peer.FioPeerError.Closed):
            read()
    with pytest.raises(fio_peer.FioPeerError.Closed):
        alice.send_private_text("bob@bind", "hi")
    alice.shutdown()
    # The file is free at once, the wallet object still alive.
    assert open_wallet(tmp_path, "alice").channels() == []
