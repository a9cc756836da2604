"""How the Python bindings behave: typed errors, cancellation of a long
sync (by handle and by cancelling the asyncio task), the logger bridge,
listeners that fail, and objects released."""
import asyncio
import gc
import os
import socket
import threading
import time

import pytest

import conftest
import fio_peer
from conftest import BOB, Recorder, config, open_wallet


def test_wallet_errors_are_typed(tmp_path):
    # A database made for another wallet.
    open_wallet(tmp_path, "alice").shutdown()
    (tmp_path / "alice.sqlite").rename(tmp_path / "other.sqlite")
    alice = open_wallet(tmp_path, "alice")
    with pytest.raises(fio_peer.FioPeerError.InvalidInput) as e:
        asyncio.run(alice.open_channel("not an address", None))
    assert e.value.code() == 1
    with pytest.raises(fio_peer.FioPeerError.NotAllowed) as e:
        alice.send_private_text("bob@bind", "no channel yet")
    assert e.value.code() == 3
    with pytest.raises(fio_peer.FioPeerError.NotAllowed):
        alice.dismiss(12345)
    with pytest.raises(fio_peer.FioPeerError.WrongDatabaseKey) as e:
        # The database is alice's, encrypted with the key derived from hers.
        fio_peer.FioWallet.open(
            fio_peer.FioKey.from_wif(BOB),
            fio_peer.WalletConfig(
                database_path=str(tmp_path / "other.sqlite"),
                fio_address="bob@bind", network=fio_peer.Network.CUSTOM(chain_id="00" * 32),
                chain_nodes=["http://127.0.0.1:9"]))
    assert e.value.code() == 13
    with pytest.raises(fio_peer.FioPeerError.Storage) as e:
        # Alice's key, but the database belongs to alice@bind.
        fio_peer.FioWallet.open(
            conftest.key("alice"),
            fio_peer.WalletConfig(
                database_path=str(tmp_path / "other.sqlite"),
                fio_address="carol@bind", network=fio_peer.Network.CUSTOM(chain_id="00" * 32),
                chain_nodes=["http://127.0.0.1:9"]))
    assert e.value.code() == 7
    with pytest.raises(fio_peer.FioPeerError.InvalidInput) as e:
        open_wallet(tmp_path, "alice", tpid="not a tpid")
    assert e.value.field == "tpid"
    with pytest.raises(fio_peer.FioPeerError.InvalidInput) as e:
        alice.update_com_data("bob@bind", "ftp://nowhere", False)
    assert e.value.field == "inbox"
    with pytest.raises(fio_peer.FioPeerError.InvalidInput) as e:
        asyncio.run(alice.move_inbox("garbage"))
    assert e.value.field == "relay"
    with pytest.raises(fio_peer.FioPeerError.InvalidInput) as e:
        open_wallet(tmp_path, "fresh", long_poll_seconds=31)
    assert e.value.field == "long_poll_seconds"
    # A refused configuration leaves no database behind.
    assert not (tmp_path / "fresh.sqlite").exists()


def test_chain_refusals_name_the_field(tmp_path):
    alice = open_wallet(tmp_path, "alice")
    with pytest.raises(fio_peer.FioPeerError.ChainRejected) as e:
        asyncio.run(alice.friends().add_friend("nobody@bind"))
    assert e.value.code() == 5
    assert e.value.status == 404 or e.value.fields


def test_network_failures_are_network_errors(tmp_path):
    lost = fio_peer.FioWallet.open(fio_peer.FioKey.from_mnemonic(fio_peer.new_mnemonic(12)), fio_peer.WalletConfig(
        database_path=str(tmp_path / "lost.sqlite"),
        fio_address="lost@bind", network=fio_peer.Network.CUSTOM(chain_id="00" * 32),
        chain_nodes=["http://127.0.0.1:9"], relay="http://127.0.0.1:9"))
    with pytest.raises(fio_peer.FioPeerError.Network) as e:
        asyncio.run(lost.lookup_public_key("alice@bind"))
    assert e.value.code() == 4


def waiting_wallet(tmp_path):
    """Alice with her inbox registered, reopened so that a sync's fetch
    waits 20 s on the relay for messages that do not come."""
    asyncio.run(open_wallet(tmp_path, "alice").sync())
    return open_wallet(tmp_path, "alice", long_poll_seconds=20)


def test_a_cancelled_handle_stops_a_long_poll_at_once(tmp_path):
    alice = waiting_wallet(tmp_path)
    handle = fio_peer.SyncCancel()
    started = time.monotonic()
    threading.Timer(0.3, handle.cancel).start()
    with pytest.raises(fio_peer.FioPeerError.Cancelled) as e:
        asyncio.run(alice.sync(handle))
    assert e.value.code() == 8
    # Cancelled while waiting on the relay, and stopped at once.
    assert 0.3 <= time.monotonic() - started < 10
    # Cancelled stays cancelled: the next sync with it stops at once.
    with pytest.raises(fio_peer.FioPeerError.Cancelled):
        asyncio.run(alice.sync(handle))


def test_a_sync_cancelled_before_it_starts_does_nothing(tmp_path):
    alice = open_wallet(tmp_path, "alice")
    handle = fio_peer.SyncCancel()
    handle.cancel()
    with pytest.raises(fio_peer.FioPeerError.Cancelled):
        asyncio.run(alice.sync(handle))
    # No inbox was created, nothing was registered.
    assert alice.inbox() is None


def test_a_handle_survives_the_syncs_that_end_without_it(tmp_path):
    alice = open_wallet(tmp_path, "alice")
    handle = fio_peer.SyncCancel()
    assert asyncio.run(alice.sync(handle)).registered
    assert not handle.is_cancelled()
    asyncio.run(alice.sync(handle))


def test_a_cancelled_task_stops_its_sync(tmp_path):
    alice = waiting_wallet(tmp_path)

    async def run():
        task = asyncio.create_task(alice.sync())
        await asyncio.sleep(0.5)
        task.cancel()
        with pytest.raises(asyncio.CancelledError):
            await task
        # The abandoned sync let go of the wallet: an inbox move, which
        # waits for any sync to end, is done long before the 20 s poll.
        started = time.monotonic()
        await asyncio.wait_for(alice.move_inbox(None), timeout=8)
        assert time.monotonic() - started < 8

    asyncio.run(run())


class Collector(fio_peer.Logger):
    def __init__(self):
        self.records = []
        self.threads = set()

    def log(self, level, target, message):
        self.records.append((level, target, message))
        self.threads.add(threading.current_thread().name)


def test_the_logger_bridge_hears_the_sync(tmp_path):
    logs = Collector()
    fio_peer.set_logger(logs, fio_peer.LogLevel.INFO)
    try:
        asyncio.run(open_wallet(tmp_path, "alice").sync())
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline and not any(
                t.startswith("fio_peer") and m.startswith("sync:") for _, t, m in logs.records):
            time.sleep(0.02)
        assert any(l == fio_peer.LogLevel.INFO and m.startswith("sync: ")
                   for l, t, m in logs.records), logs.records
        quiet = (fio_peer.LogLevel.DEBUG, fio_peer.LogLevel.TRACE)
        assert not [r for r in logs.records if r[0] in quiet]
        assert threading.main_thread().name not in logs.threads
    finally:
        fio_peer.set_logger(None, fio_peer.LogLevel.INFO)


class Failing(fio_peer.WalletListener):
    def __init__(self):
        self.calls = 0

    def on_event(self, event):
        self.calls += 1
        raise RuntimeError("a bug in the app")


def test_a_failing_listener_does_not_stop_the_events(tmp_path):
    bob = open_wallet(tmp_path, "bob")
    asyncio.run(bob.sync())
    alice = open_wallet(tmp_path, "alice")
    failing = Failing()
    alice.set_listener(failing)
    hello = asyncio.run(alice.open_channel("bob@bind", None))
    # Registering, delivering, delivered: each call fails, the next comes.
    asyncio.run(alice.sync())
    deadline = time.monotonic() + 10
    while failing.calls < 3 and time.monotonic() < deadline:
        time.sleep(0.02)
    assert failing.calls >= 3
    # Replaced: the new listener hears Bob's accept.
    heard = Recorder()
    alice.set_listener(heard)
    asyncio.run(bob.sync())
    bob.accept_request("alice@bind", hello.message_id, fio_peer.AcceptanceData())
    asyncio.run(bob.sync())
    asyncio.run(alice.sync())
    heard.wait_for(lambda e: e.is_message_status_changed()
                   and e.message_id == hello.message_id and e.status.is_accepted())


def event_threads():
    """Threads of this process named as the library names its event threads."""
    import pathlib

    def name(task):
        # A thread may end between the listing and the read of its name.
        try:
            return (task / "comm").read_text().strip()
        except FileNotFoundError:
            return None
    return sum(1 for t in pathlib.Path("/proc/self/task").iterdir()
               if name(t) == "fio-peer-events")


def wait_for_event_threads(count):
    """The number of event threads once it is `count` (a new thread takes
    its name when it first runs), or after 5 s."""
    deadline = time.monotonic() + 5
    while event_threads() != count and time.monotonic() < deadline:
        time.sleep(0.02)
    return event_threads()


def test_a_released_wallet_ends_its_event_thread(tmp_path):
    gc.collect()
    before = wait_for_event_threads(0)
    alice = open_wallet(tmp_path, "alice")
    alice.set_listener(Recorder())
    assert wait_for_event_threads(before + 1) == before + 1
    del alice
    gc.collect()
    assert wait_for_event_threads(before) == before
    # And the database is free for the next one.
    assert open_wallet(tmp_path, "alice").channels() == []


def test_an_inbox_move_tells_the_peer_and_can_be_cancelled(tmp_path):
    alice, bob = open_wallet(tmp_path, "alice"), open_wallet(tmp_path, "bob")

    async def open_channel():
        await bob.sync()
        hello = await alice.open_channel("bob@bind", None)
        await alice.sync()
        await bob.sync()
        bob.accept_request("alice@bind", hello.message_id, fio_peer.AcceptanceData())
        await bob.sync()
        await alice.sync()

    asyncio.run(open_channel())
    heard = Recorder()
    alice.set_listener(heard)
    done = fio_peer.SyncCancel()
    done.cancel()
    old = alice.inbox()
    with pytest.raises(fio_peer.FioPeerError.Cancelled):
        asyncio.run(alice.move_inbox(None, done))
    assert alice.inbox() == old
    moved = asyncio.run(alice.move_inbox(None))
    assert moved.delivered == 1
    assert alice.inbox() != old
    update = next(m for m in alice.history("bob@bind")
                  if m.action == fio_peer.MessageAction.UPDATE_COM_DATA_REQUEST)
    heard.wait_for(lambda e: e.is_message_status_changed()
                   and e.message_id == update.content.message_id and e.status.is_delivered())
    asyncio.run(bob.sync())
    assert bob.channel("alice@bind").peer_inbox == alice.inbox()

    # Without a relay there is nowhere to move to.
    lone = fio_peer.FioWallet.open(conftest.key("alice"), fio_peer.WalletConfig(
        database_path=str(tmp_path / "lone.sqlite"),
        fio_address="alice@bind", network=fio_peer.Network.CUSTOM(chain_id=os.environ["FIO_TEST_CHAIN_ID"]),
        chain_nodes=[os.environ["FIO_TEST_DEVNET"]]))
    with pytest.raises(fio_peer.FioPeerError.NotAllowed):
        asyncio.run(lone.move_inbox(None))


def test_a_database_from_a_newer_build_is_refused_unchanged(tmp_path):
    wallet = open_wallet(tmp_path, "alice")
    del wallet
    gc.collect()
    path = tmp_path / "alice.sqlite"
    db = conftest.sqlcipher(path, conftest.database_key("alice"))
    supported = db.execute("PRAGMA user_version").fetchone()[0]
    db.execute(f"PRAGMA user_version = {supported + 7}")
    db.close()
    before = path.read_bytes()
    with pytest.raises(fio_peer.FioPeerError.DatabaseTooNew) as e:
        open_wallet(tmp_path, "alice")
    assert (e.value.found, e.value.supported) == (supported + 7, supported)
    assert e.value.code() == 9
    assert path.read_bytes() == before


def test_request_timeouts_are_settings(tmp_path):
    for field in ("chain_timeout_seconds", "relay_timeout_seconds"):
        for bad in (0, 121):
            with pytest.raises(fio_peer.FioPeerError.InvalidInput) as e:
                open_wallet(tmp_path, "alice", **{field: bad})
            assert e.value.field == field
    assert not (tmp_path / "alice.sqlite").exists()
    # A chain node that takes connections and never answers.
    hole = socket.socket()
    hole.bind(("127.0.0.1", 0))
    hole.listen(16)
    try:
        wallet = fio_peer.FioWallet.open(conftest.key("alice"), fio_peer.WalletConfig(
            database_path=str(tmp_path / "alice.sqlite"),
            fio_address="alice@bind", network=fio_peer.Network.CUSTOM(chain_id="00" * 32),
            chain_nodes=[f"http://127.0.0.1:{hole.getsockname()[1]}"], chain_timeout_seconds=1))
        started = time.monotonic()
        with pytest.raises(fio_peer.FioPeerError.Network):
            asyncio.run(wallet.lookup_public_key("bob@bind"))
        assert time.monotonic() - started < 5
    finally:
        hole.close()


def test_a_sync_within_limits_says_where_it_stopped(tmp_path):
    alice, bob = open_wallet(tmp_path, "alice"), open_wallet(tmp_path, "bob")

    async def run():
        await alice.sync()
        await bob.sync()
        hello = await alice.open_channel("bob@bind", None)
        await alice.sync()
        await bob.sync()
        bob.accept_request("alice@bind", hello.message_id, fio_peer.AcceptanceData())
        await bob.sync()
        await alice.sync()
        for i in range(3):
            alice.send_private_text("bob@bind", f"t{i}")
        assert (await alice.sync()).delivered == 3

        capped = await bob.sync_within(fio_peer.SyncOptions(max_messages=2))
        assert (capped.fetched, capped.stopped) == (2, fio_peer.SyncStop.MAX_MESSAGES)
        # The rest: the third text (and Alice's status reply to Bob's accept).
        rest = await bob.sync_within(fio_peer.SyncOptions(time_budget_ms=10_000))
        assert rest.stopped == fio_peer.SyncStop.COMPLETE and rest.fetched >= 1
        # History is newest first.
        texts = [m.content.memo for m in bob.history("alice@bind")
                 if m.action == fio_peer.MessageAction.SEND_PRIVATE_TEXT]
        assert texts == ["t2", "t1", "t0"]
        assert (await bob.sync()).stopped == fio_peer.SyncStop.COMPLETE

    asyncio.run(run())
