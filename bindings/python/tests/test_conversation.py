"""Two wallets converse over the relay and the devnet that bindings/test.sh
started, through the Python bindings (async sync, typed errors)."""
import asyncio
import os

import pytest

import fio_peer

ALICE = "5J9bWm2ThenDm3tjvmUgHtWCVMUdjRR1pxnRtnJjvKA4b2ut5WK"
BOB = "5JoQtsKQuH8hC9MyvfJAqo6qmKLm8ePYNucs7tPu2YxG12trzBt"


def wallet(tmp_path, name, key):
    return fio_peer.FioWallet.open(
        fio_peer.WalletConfig(
            database_path=str(tmp_path / f"{name}.sqlite"),
            private_key=key,
            fio_address=f"{name}@bind",
            chain_id=os.environ["FIO_TEST_CHAIN_ID"],
            chain_nodes=[os.environ["FIO_TEST_DEVNET"]],
            relay=os.environ["FIO_TEST_RELAY"],
        )
    )


def test_a_channel_and_a_text_over_http(tmp_path):
    alice, bob = wallet(tmp_path, "alice", ALICE), wallet(tmp_path, "bob", BOB)
    assert alice.fio_address() == "alice@bind"
    assert bob.public_key() == "FIO5VE6Dgy9FUmd1mFotXwF88HkQN1KysCWLPqpVnDMjRvGRi1YrM"

    async def run():
        # Both create and register their inboxes.
        assert (await alice.sync()).registered
        assert (await bob.sync()).registered
        hello = alice.open_channel("bob@bind", "Hi Bob")
        assert hello.action == "peer_new_com_request"
        assert (await alice.sync()).delivered == 1
        assert (await bob.sync()).received == 1
        bob.accept_request("alice@bind", hello.message_id, None)
        await bob.sync()
        await alice.sync()
        alice.send_private_text("bob@bind", "see you at 8")
        await alice.sync()
        await bob.sync()

    asyncio.run(run())
    assert bob.received_texts("alice@bind") == ["see you at 8"]


def test_wallet_errors_are_typed(tmp_path):
    alice = wallet(tmp_path, "alice", ALICE)
    with pytest.raises(fio_peer.FioPeerError.InvalidInput) as e:
        alice.open_channel("not an address", None)
    assert e.value.code() == 1
    with pytest.raises(fio_peer.FioPeerError.NotAllowed) as e:
        alice.send_private_text("bob@bind", "no channel yet")
    assert e.value.code() == 3
    with pytest.raises(fio_peer.FioPeerError.Storage):
        # The database belongs to alice@bind.
        fio_peer.FioWallet.open(
            fio_peer.WalletConfig(
                database_path=str(tmp_path / "alice.sqlite"),
                private_key=BOB,
                fio_address="bob@bind",
                chain_id=os.environ["FIO_TEST_CHAIN_ID"],
                chain_nodes=[os.environ["FIO_TEST_DEVNET"]],
                relay=None,
            )
        )
    with pytest.raises(fio_peer.FioPeerError.InvalidInput) as e:
        wallet(tmp_path, "carol", "not a key")
    assert e.value.field == "private_key"
