"""What a wallet UI reads (issue 16): delivery state and retry, the event
log and its cursor, paging, a queue of what waits, network presets and
readable values."""
import asyncio
import os

import pytest

import conftest
import fio_peer
from conftest import open_wallet

A = fio_peer.MessageAction


@pytest.fixture
def refusing():
    """An inbox that refuses every envelope (bindings/refusing_inbox.py)."""
    return os.environ["FIO_TEST_REFUSING"]


def channel(alice, bob):
    async def run():
        await alice.sync()
        await bob.sync()
        hello = await alice.open_channel("bob@bind")
        await alice.sync()
        await bob.sync()
        bob.accept_request("alice@bind", hello.message_id, fio_peer.AcceptanceData())
        await bob.sync()
        await alice.sync()
    asyncio.run(run())


def mine(wallet, message_id):
    return next(m for m in wallet.history("bob@bind") if m.content.message_id == message_id)


def test_a_failed_delivery_survives_a_restart_and_is_retried(tmp_path, refusing):
    alice, bob = open_wallet(tmp_path, "alice"), open_wallet(tmp_path, "bob")
    channel(alice, bob)
    # Bob tells Alice an inbox that refuses everything.
    bob.update_com_data("alice@bind", inbox=refusing)
    asyncio.run(bob.sync())
    asyncio.run(alice.sync())
    sent = alice.send_private_text("bob@bind", "lost?")
    assert mine(alice, sent.message_id).delivery == fio_peer.DeliveryState.QUEUED()
    assert asyncio.run(alice.sync()).failed == 1
    alice.shutdown()
    del alice

    alice = open_wallet(tmp_path, "alice")
    failed = mine(alice, sent.message_id).delivery
    assert failed.is_failed(), failed
    assert "413" in failed.reason and failed.attempts == 1
    assert "failed after 1 attempt" in str(failed)
    [listed] = [m for m in alice.outbox() if m.content.message_id == sent.message_id]
    assert listed.delivery == failed
    assert all(m.delivery is not None for m in alice.outbox())
    with pytest.raises(fio_peer.FioPeerError.NotAllowed):
        alice.retry_delivery("bob@bind", "0" * 16)
    alice.retry_delivery("bob@bind", sent.message_id)
    assert mine(alice, sent.message_id).delivery == fio_peer.DeliveryState.QUEUED()
    # Retried, it asks the chain where Bob's inbox is: his relay.
    assert asyncio.run(alice.sync()).delivered >= 1
    delivered = mine(alice, sent.message_id).delivery
    assert delivered.is_delivered() and delivered.seq > 0, delivered
    assert sent.message_id not in [m.content.message_id for m in alice.outbox()]
    asyncio.run(bob.sync())
    assert "lost?" in [m.content.memo for m in bob.history("alice@bind")]
    # The outcomes are in the log, in order.
    statuses = [e.event.status for e in alice.events(after=0, limit=1000)
                if e.event.is_message_status_changed() and e.event.message_id == sent.message_id]
    assert [(s.is_failed(), s.is_queued(), s.is_delivered()) for s in statuses] == [
        (True, False, False), (False, True, False), (False, False, True)], statuses


def test_events_are_read_from_a_cursor_after_a_restart(tmp_path):
    alice, bob = open_wallet(tmp_path, "alice"), open_wallet(tmp_path, "bob")
    channel(alice, bob)
    seen = bob.events()
    assert seen and seen[0].event.is_queue_item_added()
    bob.mark_events_handled(seen[-1].id)
    assert bob.handled_event_id() == seen[-1].id
    bob.shutdown()
    del bob

    # Three texts while Bob's app is closed; a background sync receives them.
    for i in range(3):
        alice.send_private_text("bob@bind", f"t{i}")
    asyncio.run(alice.sync())
    job = open_wallet(tmp_path, "bob")
    # The three, and the status of Bob's accept.
    assert asyncio.run(job.sync()).received >= 3
    job.shutdown()
    del job

    bob = open_wallet(tmp_path, "bob")
    new = bob.events()
    assert [e.event.entry.message.content.memo for e in new
            if e.event.is_queue_item_added()] == ["t0", "t1", "t2"]
    ids = [e.id for e in new]
    assert ids == sorted(set(ids)) and ids[0] > seen[-1].id
    assert bob.events(after=ids[-1]) == []
    # Read in pages of one, the same events, each once.
    paged, after = [], None
    while page := bob.events(after=after, limit=1):
        paged += page
        after = page[-1].id
    assert [e.id for e in paged] == ids
    with pytest.raises(fio_peer.FioPeerError.InvalidInput) as e:
        bob.events(limit=0)
    assert e.value.field == "limit"


def test_next_events_returns_what_came_before_then_waits_for_more(tmp_path):
    alice, bob = open_wallet(tmp_path, "alice"), open_wallet(tmp_path, "bob")
    channel(alice, bob)

    async def run():
        first = await bob.next_events(after=0)
        assert first and first[0].event.is_queue_item_added()
        cursor = first[-1].id
        assert await bob.next_events(after=cursor, timeout_ms=100) == []
        waiting = asyncio.ensure_future(bob.next_events(after=cursor, timeout_ms=20_000))
        await asyncio.sleep(0.2)
        assert not waiting.done()
        alice.send_private_text("bob@bind", "wake up")
        await alice.sync()
        await bob.sync()
        woke = await asyncio.wait_for(waiting, 10)
        assert [e.event.entry.message.content.memo for e in woke
                if e.event.is_queue_item_added()] == ["wake up"]
        # A cancelled handle ends a wait at once (from after the last
        # event: the deliveries of Bob's status replies came too).
        last = (bob.events(after=woke[-1].id, limit=1000) or woke)[-1].id
        handle = fio_peer.SyncCancel()
        later = asyncio.ensure_future(bob.next_events(after=last, timeout_ms=20_000, cancel=handle))
        await asyncio.sleep(0.1)
        handle.cancel()
        with pytest.raises(fio_peer.FioPeerError.Cancelled):
            await asyncio.wait_for(later, 2)
    asyncio.run(run())


def test_paging_over_a_thousand_messages_returns_each_once(tmp_path):
    alice, bob = open_wallet(tmp_path, "alice"), open_wallet(tmp_path, "bob")
    channel(alice, bob)
    sent = [alice.send_private_text("bob@bind", f"m{i}").message_id for i in range(1000)]
    seen, before = [], None
    while page := alice.history("bob@bind", before=before, limit=97):
        seen += page
        before = page[-1].id
    texts = [m.content.message_id for m in seen if m.action == A.SEND_PRIVATE_TEXT]
    assert texts == list(reversed(sent))
    assert len({m.id for m in seen}) == len(seen)
    # Undelivered, every one is in the outbox, queued, a page at a time.
    outbox, after = [], None
    while page := alice.outbox(after=after, limit=250):
        outbox += page
        after = page[-1].id
    assert [m.content.message_id for m in outbox if m.content.message_id in set(sent)] == sent
    assert all(m.delivery == fio_peer.DeliveryState.QUEUED() for m in outbox
               if m.content.message_id in set(sent))


def test_requests_page_by_state_and_answered_ones_leave_the_queue(tmp_path):
    alice, bob = open_wallet(tmp_path, "alice"), open_wallet(tmp_path, "bob")
    channel(alice, bob)
    ids = [alice.request_funds("bob@bind", fio_peer.FundsRequestData(
        payee_public_address="bc1qalice", chain_code="BTC", token_code="BTC", amount=str(i))).message_id
        for i in range(5)]
    asyncio.run(alice.sync())
    asyncio.run(bob.sync())
    waiting = [q.message.content.message_id for q in bob.queue()]
    assert waiting == ids
    bob.accept_request("alice@bind", ids[0], fio_peer.AcceptanceData())
    bob.reject_request("alice@bind", ids[1])
    assert [q.message.content.message_id for q in bob.queue()] == ids[2:]
    S = fio_peer.RequestStatus
    assert [r.message_id for r in bob.requests(status=S.PAID)] == [ids[0]]
    assert [r.message_id for r in bob.requests(status=S.REJECTED)] == [ids[1]]
    pending = bob.requests(peer="alice@bind", status=S.PENDING, limit=2)
    assert [r.message_id for r in pending] == ids[2:4]
    rest = bob.requests(peer="alice@bind", status=S.PENDING, after=pending[-1].id)
    assert [r.message_id for r in rest] == ids[4:]
    # The queue pages the same way.
    first = bob.queue(limit=1)
    assert [q.message.content.message_id for q in bob.queue(after=first[0].id)] == ids[3:]


def test_network_presets(tmp_path):
    nodes = fio_peer.network_nodes(fio_peer.Network.MAINNET())
    assert nodes and all(n.startswith("https://") for n in nodes)
    assert fio_peer.network_nodes(fio_peer.Network.TESTNET()) != nodes
    assert fio_peer.network_nodes(fio_peer.Network.CUSTOM(chain_id="00" * 32)) == []
    # A preset needs no nodes (the wallet opens offline).
    wallet = fio_peer.FioWallet.open(conftest.key("alice"), fio_peer.WalletConfig(
        database_path=str(tmp_path / "main.sqlite"), fio_address="alice@bind",
        network=fio_peer.Network.TESTNET()))
    wallet.shutdown()
    with pytest.raises(fio_peer.FioPeerError.InvalidInput) as e:
        fio_peer.FioWallet.open(conftest.key("alice"), fio_peer.WalletConfig(
            database_path=str(tmp_path / "custom.sqlite"), fio_address="alice@bind",
            network=fio_peer.Network.CUSTOM(chain_id="00" * 32)))
    assert e.value.field == "chain_nodes"
    assert str(fio_peer.Network.MAINNET()) == "mainnet"


def test_errors_have_messages_and_values_print_readably(tmp_path):
    alice = open_wallet(tmp_path, "alice")
    alice.shutdown()
    with pytest.raises(fio_peer.FioPeerError.Closed) as e:
        alice.queue()
    assert "the wallet was closed" in str(e.value)
    assert e.value.code() == 12
    assert str(fio_peer.MessageStatus.DELIVERED(seq=7)) == "delivered (seq 7)"
    assert str(fio_peer.DeliveryState.QUEUED()) == "queued"
    assert str(fio_peer.AcceptChannels.ALWAYS()) == "always"
