"""Two wallets go through all ten FIP-24 actions over the relay and the
devnet bindings/test.sh started, through the Python bindings."""
import asyncio
import threading

import fio_peer
import conftest
from conftest import Recorder, open_wallet

A = fio_peer.MessageAction


def test_all_ten_actions_over_http(tmp_path):
    alice, bob = open_wallet(tmp_path, "alice"), open_wallet(tmp_path, "bob")
    assert alice.fio_address() == "alice@bind"
    assert bob.public_key() == "FIO5VE6Dgy9FUmd1mFotXwF88HkQN1KysCWLPqpVnDMjRvGRi1YrM"
    heard_by_alice, heard_by_bob = Recorder(), Recorder()
    alice.set_listener(heard_by_alice)
    bob.set_listener(heard_by_bob)

    async def both():
        await alice.sync()
        await bob.sync()
        await alice.sync()

    async def run():
        # Both create and register their inboxes.
        assert (await alice.sync()).registered
        assert (await bob.sync()).registered
        assert alice.inbox().startswith("http://")

        # 1 peer_new_com_request
        hello = await alice.open_channel("bob@bind", "Hi Bob")
        assert hello.action == A.NEW_COM_REQUEST
        assert (await alice.sync()).delivered == 1
        assert (await bob.sync()).received == 1
        [item] = bob.queue()
        assert item.message.action == A.NEW_COM_REQUEST
        assert item.message.content.memo == "Hi Bob"
        assert bob.channel("alice@bind").status == fio_peer.ChannelStatus.REQUESTED
        # 4 peer_accept_request (of the channel)
        # Answered, it leaves the queue at once; its state is in requests.
        bob.accept_request("alice@bind", hello.message_id, fio_peer.AcceptanceData())
        assert bob.queue() == []
        [settled] = bob.requests(peer="alice@bind")
        assert (settled.message_id, settled.status) == (hello.message_id, fio_peer.RequestStatus.ACCEPTED)
        await both()
        assert alice.channel("bob@bind").status == fio_peer.ChannelStatus.OPEN

        # 2 peer_new_funds_request, accepted: paid
        invoice = alice.request_funds(
            "bob@bind",
            fio_peer.FundsRequestData(
                payee_public_address="bc1qalice", chain_code="BTC",
                token_code="BTC", amount="0.01", memo="pizza"),
        )
        await both()
        bob.accept_request("alice@bind", invoice.message_id, fio_peer.AcceptanceData(memo="paid"))
        # 3 peer_new_pub_address_request, accepted with an address
        ask = alice.request_public_address(
            "bob@bind", fio_peer.AddressRequestData(chain_code="ETH", token_code="ETH"))
        await both()
        bob.accept_request(
            "alice@bind", ask.message_id,
            fio_peer.AcceptanceData(payee_public_address="0xb0b"))
        # 6 peer_cancel_request
        again = alice.request_funds(
            "bob@bind",
            fio_peer.FundsRequestData(
                payee_public_address="bc1qalice", chain_code="BTC",
                token_code="BTC", amount="1"),
        )
        await both()
        alice.cancel_request("bob@bind", again.message_id, "never mind")
        # 5 peer_reject_request
        bobs = bob.request_funds(
            "alice@bind",
            fio_peer.FundsRequestData(
                payee_public_address="bc1qbob", chain_code="BTC",
                token_code="BTC", amount="2"),
        )
        await both()
        alice.reject_request("bob@bind", bobs.message_id, "no")
        # 10 peer_send_private_text
        alice.send_private_text("bob@bind", "see you at 8")
        # 8 peer_update_com_data_request: a new token for alice
        bob.update_com_data("alice@bind", None, True)
        await both()
        await both()
        return invoice, ask, again, bobs

    invoice, ask, again, bobs = asyncio.run(run())

    states = {r.message_id: r.status for r in alice.requests(peer="bob@bind")}
    S = fio_peer.RequestStatus
    assert states[invoice.message_id] == S.PAID
    assert states[ask.message_id] == S.ACCEPTED
    assert states[again.message_id] == S.CANCELLED
    assert states[bobs.message_id] == S.REJECTED
    answer = next(r for r in alice.requests() if r.message_id == ask.message_id).answer
    assert answer.payee_public_address == "0xb0b"
    texts = [m.content.memo for m in bob.history("alice@bind")
             if m.action == A.SEND_PRIVATE_TEXT and m.direction == fio_peer.MessageDirection.INCOMING]
    assert texts == ["see you at 8"]

    # 9 peer_close_com_request
    alice.close_channel("bob@bind", "bye")
    asyncio.run(alice.sync())
    asyncio.run(bob.sync())
    assert bob.channel("alice@bind").status == fio_peer.ChannelStatus.CLOSED

    # 7 peer_return_message_status: every message but a status, a close and
    # a first contact (answered by the accept alone) is answered.
    seen = {m.action for m in alice.history("bob@bind")} | {m.action for m in bob.history("alice@bind")}
    assert seen == set(A), set(A) - seen
    statuses = [m for m in alice.history("bob@bind") if m.direction == fio_peer.MessageDirection.OUTGOING]
    assert all(m.peer_status for m in statuses if m.action not in
               (A.RETURN_MESSAGE_STATUS, A.CLOSE_COM_REQUEST, A.NEW_COM_REQUEST))
    assert next(m for m in statuses if m.action == A.NEW_COM_REQUEST).peer_status is None

    # The listeners heard it all, on the library's event thread.
    heard_by_bob.wait_for(lambda e: e.is_queue_item_added()
                          and e.entry.message.action == A.NEW_COM_REQUEST)
    heard_by_alice.wait_for(lambda e: e.is_message_status_changed()
                            and e.message_id == hello_id(alice) and e.status.is_delivered())
    heard_by_alice.wait_for(lambda e: e.is_message_status_changed()
                            and e.message_id == invoice.message_id and e.status.is_accepted())
    heard_by_alice.wait_for(lambda e: e.is_message_status_changed()
                            and e.message_id == invoice.message_id and e.status.is_peer_status())
    heard_by_bob.wait_for(lambda e: e.is_message_status_changed()
                          and e.message_id == bobs.message_id and e.status.is_rejected())
    heard_by_bob.wait_for(lambda e: e.is_message_status_changed()
                          and e.message_id == again.message_id and e.status.is_cancelled())
    heard_by_alice.wait_for(lambda e: e.is_sync_progress() and e.step == fio_peer.SyncStep.DELIVERING)
    # Never on the caller's thread: each wallet has its own event thread.
    assert threading.main_thread().name not in heard_by_alice.threads
    assert len(heard_by_alice.threads) == 1


def hello_id(wallet):
    return next(m.content.message_id for m in wallet.history("bob@bind")
                if m.action == A.NEW_COM_REQUEST)


def test_the_readme_quick_start_runs(tmp_path):
    # bindings/test.sh wrote the README's Python block to this module.
    import os
    import readme_quickstart

    summary = asyncio.run(readme_quickstart.quickstart(
        str(tmp_path / "quick.sqlite"), conftest.key("alice"), "alice@bind", "bob@bind",
        fio_peer.Network.CUSTOM(chain_id=os.environ["FIO_TEST_CHAIN_ID"]), [os.environ["FIO_TEST_DEVNET"]],
        os.environ["FIO_TEST_RELAY"], True))
    assert summary.delivered == 1
