"""Secrets through the Python bindings: the key objects print no secret,
configs hold none, the database and its -wal are encrypted (and stock
SQLCipher opens them with the key docs/protocol.md §6 defines), a wrong key
changes nothing, rekey, and files are private."""
import asyncio
import gc
import os
import stat

import pytest

import conftest
import fio_peer
from conftest import ALICE, config, open_wallet

ALICE_HEX = next(k["private_key_hex"] for k in conftest.VECTORS["keys"] if k["wif"] == ALICE)
MNEMONIC = conftest.VECTORS["hd_derivation"][0]["mnemonic"]


def printed(obj):
    return [str(obj), repr(obj), f"{obj}", f"{obj!r}"]


def assert_no_secret(texts, *secrets):
    for text in texts:
        for secret in secrets:
            assert secret not in text, f"{secret[:6]}… printed in {text!r}"


def test_a_key_prints_its_public_key_only():
    key = fio_peer.FioKey.from_wif(ALICE)
    for text in printed(key):
        assert text == "FioKey(FIO7zsqi7QUAjTAdyynd6DVe8uv4K8gCTRHnAoMN9w9CA1xLCTDVv)"
    assert_no_secret(printed(key), ALICE, ALICE_HEX)
    words = fio_peer.FioKey.from_mnemonic(MNEMONIC)
    assert_no_secret(printed(words), MNEMONIC, words.export_wif(), *MNEMONIC.split()[:3])
    # Equal keys compare equal, whatever they were made from.
    assert fio_peer.FioKey.from_wif(words.export_wif()) == words
    assert key != words


def test_a_database_key_prints_nothing_of_itself():
    raw = bytes(range(32))
    key = fio_peer.FioDatabaseKey.from_bytes(raw)
    for text in printed(key) + printed(fio_peer.FioDatabaseKey.derived_from(fio_peer.FioKey.from_wif(ALICE))):
        assert text == "FioDatabaseKey(…)"
    with pytest.raises(fio_peer.FioPeerError.InvalidInput) as e:
        fio_peer.FioDatabaseKey.from_bytes(raw[:31])
    assert e.value.field == "database_key"
    assert_no_secret(printed(e.value), raw[:31].hex())


def test_configs_and_errors_hold_no_secret(tmp_path):
    assert_no_secret(printed(config(tmp_path, "alice")), ALICE, ALICE_HEX)
    bad_wif = ALICE[:-1] + ("x" if ALICE[-1] != "x" else "y")
    with pytest.raises(fio_peer.FioPeerError.InvalidInput) as e:
        fio_peer.FioKey.from_wif(bad_wif)
    assert e.value.field == "private_key"
    assert_no_secret(printed(e.value) + [e.value.value, e.value.detail], bad_wif, bad_wif[5:20])
    wrong = MNEMONIC.rsplit(" ", 1)[0] + " zoo"
    with pytest.raises(fio_peer.FioPeerError.InvalidInput) as e:
        fio_peer.FioKey.from_mnemonic(wrong)
    assert e.value.field == "mnemonic"
    assert_no_secret(printed(e.value) + [e.value.value], wrong, *MNEMONIC.split()[:4])


def test_accounts_of_a_mnemonic_are_distinct_keys():
    first = fio_peer.FioKey.from_mnemonic(MNEMONIC)
    assert first == fio_peer.FioKey.from_mnemonic(MNEMONIC, 0)
    assert first.public_key() == conftest.VECTORS["hd_derivation"][0]["fio_public_key"]
    others = {fio_peer.FioKey.from_mnemonic(MNEMONIC, n).public_key() for n in (1, 2, 2**31 - 1)}
    assert len(others) == 3 and first.public_key() not in others
    with pytest.raises(fio_peer.FioPeerError.InvalidInput) as e:
        fio_peer.FioKey.from_mnemonic(MNEMONIC, -1)
    assert e.value.field == "account"


def files_of(path):
    return [p for p in (path, path.with_name(path.name + "-wal")) if p.exists()]


def test_the_files_hold_none_of_the_conversation(tmp_path):
    alice, bob = open_wallet(tmp_path, "alice"), open_wallet(tmp_path, "bob")
    memo, address, text = "memo-7f3a9c", "bc1qpayee7f3a9c", "private text 7f3a9c"

    async def run():
        await alice.sync()
        await bob.sync()
        hello = await alice.open_channel("bob@bind", memo)
        await alice.sync()
        await bob.sync()
        bob.accept_request("alice@bind", hello.message_id, fio_peer.AcceptanceData())
        await bob.sync()
        await alice.sync()
        alice.request_funds("bob@bind", fio_peer.FundsRequestData(
            payee_public_address=address, chain_code="BTC", token_code="BTC",
            amount="0.01", memo=memo))
        alice.send_private_text("bob@bind", text)
        await alice.sync()
        await bob.sync()

    asyncio.run(run())
    assert {m.content.memo for m in bob.history("alice@bind")} >= {memo}
    path = tmp_path / "alice.sqlite"
    # While the wallet is open, the newest pages are in the -wal.
    assert path.with_name("alice.sqlite-wal").exists()
    db = conftest.sqlcipher(path, conftest.database_key("alice"))
    (credential,) = db.execute("SELECT credential FROM own_inbox").fetchone()
    tokens = [t for row in db.execute("SELECT our_token, peer_token FROM channels") for t in row if t]
    assert len(tokens) == 2 and len(credential) >= 20
    db.close()
    needles = [memo, address, text, credential, *tokens, "alice@bind", "bob@bind"]
    for name in ("alice", "bob"):
        for file in files_of(tmp_path / f"{name}.sqlite"):
            data = file.read_bytes()
            if file.name.endswith(".sqlite"):
                # SQLite's 32-byte header stays plaintext (iOS recognises a
                # WAL database by it); 80 bytes reserved per page: encrypted.
                assert data[:16] == b"SQLite format 3\0" and data[18:20] == b"\2\2"
                assert data[20] == 80
            assert b"CREATE TABLE" not in data
            for needle in needles:
                assert needle.encode() not in data, f"{needle} in {file.name}"
            assert stat.S_IMODE(os.stat(file).st_mode) == 0o600, file.name
    # Stock SQLCipher reads what the library wrote, with the documented key.
    db = conftest.sqlcipher(tmp_path / "bob.sqlite", conftest.database_key("bob"))
    assert db.execute("SELECT count(*) FROM messages").fetchone()[0] >= 3
    db.close()


def test_a_wrong_key_is_refused_and_the_file_is_unchanged(tmp_path):
    wallet = open_wallet(tmp_path, "alice")
    wallet.shutdown()
    path = tmp_path / "alice.sqlite"
    wal = path.with_name(path.name + "-wal")
    before = path.read_bytes(), wal.read_bytes() if wal.exists() else b""
    for key in (fio_peer.FioDatabaseKey.from_bytes(b"\x01" * 32),
                fio_peer.FioDatabaseKey.derived_from(conftest.key("bob"))):
        with pytest.raises(fio_peer.FioPeerError.WrongDatabaseKey) as e:
            fio_peer.FioWallet.open(conftest.key("alice"), config(tmp_path, "alice"), key)
        assert e.value.code() == 13
        # The file as it was; SQLite may leave an empty -wal (it reads the
        # plaintext header's WAL mode before the first page fails).
        assert (path.read_bytes(), wal.read_bytes() if wal.exists() else b"") == before
    open_wallet(tmp_path, "alice").shutdown()


def test_rekey_round_trip(tmp_path):
    alice = open_wallet(tmp_path, "alice")
    asyncio.run(alice.sync())
    inbox = alice.inbox()
    own = bytes(range(100, 132))
    asyncio.run(alice.rekey(fio_peer.FioDatabaseKey.from_bytes(own)))
    # The open wallet goes on, reads included.
    assert alice.inbox() == inbox
    alice.shutdown()
    with pytest.raises(fio_peer.FioPeerError.WrongDatabaseKey):
        open_wallet(tmp_path, "alice")
    db = conftest.sqlcipher(tmp_path / "alice.sqlite", own)
    assert db.execute("SELECT count(*) FROM own_inbox").fetchone()[0] == 1
    db.close()
    again = fio_peer.FioWallet.open(
        conftest.key("alice"), config(tmp_path, "alice"), fio_peer.FioDatabaseKey.from_bytes(own))
    assert again.inbox() == inbox
    asyncio.run(again.rekey(fio_peer.FioDatabaseKey.derived_from(conftest.key("alice"))))
    again.shutdown()
    del again
    gc.collect()
    assert open_wallet(tmp_path, "alice").inbox() == inbox


def test_mainnet_nodes_and_relays_must_be_https(tmp_path):
    def mainnet(**extra):
        return fio_peer.WalletConfig(
            database_path=str(tmp_path / "main.sqlite"), fio_address="alice@bind",
            network=fio_peer.Network.MAINNET(), **extra)

    with pytest.raises(fio_peer.FioPeerError.InvalidInput) as e:
        fio_peer.FioWallet.open(conftest.key("alice"), mainnet(chain_nodes=["http://node.example"]))
    assert e.value.field == "chain_nodes"
    assert "must be https" in str(e.value)
    with pytest.raises(fio_peer.FioPeerError.InvalidInput) as e:
        fio_peer.FioWallet.open(conftest.key("alice"), mainnet(
            chain_nodes=["https://node.example"], relay="http://relay.example"))
    assert e.value.field == "relay"
    assert "must be https" in str(e.value)
    # Nothing was created by a refused configuration.
    assert not (tmp_path / "main.sqlite").exists()
    # The development setting allows both (it opens offline: nothing is asked).
    wallet = fio_peer.FioWallet.open(conftest.key("alice"), mainnet(
        chain_nodes=["http://node.example"], relay="http://relay.example",
        allow_insecure_destinations=True))
    wallet.shutdown()
