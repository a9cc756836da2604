"""FIP-3 through the Python bindings: friends, NBPAs granted per friend,
private funds requests paid and rejected, and a friend list restored from
the key alone, on the devnet bindings/test.sh started."""
import asyncio

import pytest

import fio_peer
from conftest import open_wallet


def test_friends_private_addresses_and_private_requests(tmp_path):
    alice, bob = open_wallet(tmp_path, "alice"), open_wallet(tmp_path, "bob")
    fa, fb = alice.friends(), bob.friends()

    async def run():
        # Friends both ways.
        friend = await fa.add_friend("bob@bind")
        assert friend.public_key == bob.public_key()
        assert len(friend.look_up_index) > 0
        await fb.add_friend("alice@bind")
        assert await fb.is_on_friend_list_of("alice@bind")
        assert fa.friend_count() == 1
        assert [f.fio_address for f in fa.friends(10, 0)] == ["bob@bind"]

        # Alice places two NBPAs and grants Bob one of them.
        placed = await fa.place_nbpas([
            fio_peer.NbpaData(chain_code="BTC", token_code="BTC", public_address="bc1qalice"),
            fio_peer.NbpaData(chain_code="ETH", token_code="USDT", public_address="0xa11ce"),
        ])
        assert [p.chain_code for p in placed] == ["BTC", "ETH"]
        assert len(fa.own_nbpas()) == 2
        await fa.grant("bob@bind", [fio_peer.GrantScope.NBPA(chain_code="BTC", token_code="BTC")])
        assert await fb.lookup_nbpa("alice@bind", "BTC", "BTC") == "bc1qalice"
        assert await fb.lookup_nbpa("alice@bind", "ETH", "USDT") is None
        # A chain-level grant opens the rest of that chain.
        await fa.grant("bob@bind", [fio_peer.GrantScope.CHAIN(chain_code="ETH")])
        assert await fb.lookup_nbpa("alice@bind", "ETH", "USDT") == "0xa11ce"

        # Bob (payee) asks Alice privately; Alice pays.
        request = fio_peer.FundsRequestData(
            payee_public_address="bc1qbob", chain_code="BTC", token_code="BTC",
            amount="0.5", memo="rent")
        request_id = await fb.request_funds("alice@bind", request)
        assert request_id is not None
        received = await fa.received_requests()
        [mine] = [r for r in received.items if r.fio_request_id == request_id]
        assert mine.payee_fio_address == "bob@bind"
        assert mine.request.memo == "rent"
        assert mine.status.is_requested()
        await fa.pay_request(mine, fio_peer.PaymentRecord(
            payer_public_address="bc1qalice", payee_public_address="bc1qbob",
            amount="0.5", chain_code="BTC", token_code="BTC", obt_id="tx-1"))
        sent = await fb.sent_requests()
        [paid] = [r for r in sent.items if r.fio_request_id == request_id]
        assert paid.status.is_paid()
        assert paid.status.record.obt_id == "tx-1"
        assert paid.status.record.status == "sent_to_blockchain"
        payments = await fb.received_payments()
        assert any(p.fio_request_id == request_id for p in payments.items)

        # A second request is rejected.
        second = await fb.request_funds("alice@bind", request)
        [it] = [r for r in (await fa.received_requests()).items if r.fio_request_id == second]
        await fa.reject_request(it)
        [rejected] = [r for r in (await fb.sent_requests()).items if r.fio_request_id == second]
        assert rejected.status.is_rejected()

        # A payment that answers no request.
        await fa.record_payment("bob@bind", fio_peer.PaymentRecord(
            payer_public_address="bc1qalice", payee_public_address="bc1qbob",
            amount="0.1", chain_code="BTC", token_code="BTC", obt_id="tx-2"))
        payments = await fb.received_payments()
        assert any(p.record.obt_id == "tx-2" and p.fio_request_id is None
                   for p in payments.items)

    asyncio.run(run())

    # Alice on a new phone: the friend list comes back from the key alone.
    (tmp_path / "phone").mkdir()
    # (FioFriends lives as long as its wallet: keep the wallet.)
    phone = open_wallet(tmp_path / "phone", "alice")
    restored = phone.friends()
    assert restored.friend_count() == 0
    summary = asyncio.run(restored.restore())
    assert summary.restored == 1
    assert [f.fio_address for f in restored.friends(10, 0)] == ["bob@bind"]

    # Removing Bob takes back what he was granted.
    asyncio.run(restored.remove_friend("bob@bind"))
    assert restored.friend_count() == 0
    assert asyncio.run(fb.lookup_nbpa("alice@bind", "BTC", "BTC")) is None
    with pytest.raises(fio_peer.FioPeerError.NotAllowed):
        asyncio.run(restored.grant("bob@bind", [fio_peer.GrantScope.ADDRESS()]))
    # Only requests addressed to us can be paid: Bob's own is refused.
    [own] = asyncio.run(fb.sent_requests()).items[:1]
    with pytest.raises(fio_peer.FioPeerError.NotAllowed):
        asyncio.run(fb.reject_request(own))
    with pytest.raises(fio_peer.FioPeerError.NotAllowed):
        asyncio.run(fb.pay_request(own, fio_peer.PaymentRecord(
            payer_public_address="bc1qbob", payee_public_address="bc1qbob",
            amount="0.5", chain_code="BTC", token_code="BTC", obt_id="tx-3")))
