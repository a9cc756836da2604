"""What every binding test shares: the parties of the genesis that
bindings/test.sh gave the devnet it started, and an event recorder."""
import hashlib
import hmac
import json
import os
import pathlib
import threading
import time

import pytest

import fio_peer

# Keys from the fiojs vectors; bindings/test.sh registers the addresses.
ALICE = "5J9bWm2ThenDm3tjvmUgHtWCVMUdjRR1pxnRtnJjvKA4b2ut5WK"
BOB = "5JoQtsKQuH8hC9MyvfJAqo6qmKLm8ePYNucs7tPu2YxG12trzBt"
KEYS = {"alice": ALICE, "bob": BOB, "fresh": ALICE}
VECTORS = json.loads(
    (pathlib.Path(__file__).parents[3] / "tests/vectors/fiojs-vectors.json").read_text()
)


def database_key(name):
    """The database key of a party's wallet, computed here as
    docs/protocol.md §6.2 says (HKDF-SHA256, no salt, info "fio-peer
    database key v1", from the 32-byte private key), not by the library."""
    scalar = bytes.fromhex(next(k["private_key_hex"] for k in VECTORS["keys"] if k["wif"] == KEYS[name]))
    prk = hmac.new(b"\0" * 32, scalar, hashlib.sha256).digest()
    return hmac.new(prk, b"fio-peer database key v1\x01", hashlib.sha256).digest()


def database_salt(key):
    """The salt SQLCipher is given with a database key (docs/protocol.md
    §6.2: HKDF-SHA256, no salt, info "fio-peer database salt v1", 16 bytes)."""
    prk = hmac.new(b"\0" * 32, key, hashlib.sha256).digest()
    return hmac.new(prk, b"fio-peer database salt v1\x01", hashlib.sha256).digest()[:16]


def sqlcipher(path, key):
    """The database opened by stock SQLCipher (OpenSSL) as docs/protocol.md
    §6.1 says: the raw key with its salt, a 32-byte plaintext header."""
    import sqlcipher3

    db = sqlcipher3.connect(str(path))
    db.execute(f"PRAGMA key = \"x'{key.hex()}{database_salt(key).hex()}'\"")
    db.execute("PRAGMA cipher_plaintext_header_size = 32")
    return db


def config(tmp_path, name, **extra):
    # The test relay is on loopback.
    extra.setdefault("allow_insecure_destinations", True)
    return fio_peer.WalletConfig(
        database_path=str(tmp_path / f"{name}.sqlite"),
        fio_address=f"{name}@bind",
        network=fio_peer.Network.CUSTOM(chain_id=os.environ["FIO_TEST_CHAIN_ID"]),
        chain_nodes=[os.environ["FIO_TEST_DEVNET"]],
        relay=os.environ["FIO_TEST_RELAY"],
        **extra,
    )


def key(name):
    return fio_peer.FioKey.from_wif(KEYS[name])


def open_wallet(tmp_path, name, **extra):
    return fio_peer.FioWallet.open(key(name), config(tmp_path, name, **extra))


class Recorder(fio_peer.WalletListener):
    """Keeps every event with the name of the thread it came on."""

    def __init__(self):
        self.events = []
        self.threads = set()
        self.lock = threading.Lock()

    def on_event(self, event):
        with self.lock:
            self.events.append(event)
            self.threads.add(threading.current_thread().name)

    def wait_for(self, predicate, timeout=10.0):
        """The first event matching `predicate`, waiting for it: events come
        on the library's thread, after the call that caused them may return."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            with self.lock:
                for e in self.events:
                    if predicate(e):
                        return e
            time.sleep(0.02)
        raise AssertionError(f"no such event in {self.events}")


@pytest.fixture
def recorder():
    return Recorder()
