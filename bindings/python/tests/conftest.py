"""What every binding test shares: the parties of the genesis that
bindings/test.sh gave the devnet it started, and an event recorder."""
import os
import threading
import time

import pytest

import fio_peer

# Keys from the fiojs vectors; bindings/test.sh registers the addresses.
ALICE = "5J9bWm2ThenDm3tjvmUgHtWCVMUdjRR1pxnRtnJjvKA4b2ut5WK"
BOB = "5JoQtsKQuH8hC9MyvfJAqo6qmKLm8ePYNucs7tPu2YxG12trzBt"
KEYS = {"alice": ALICE, "bob": BOB, "fresh": ALICE}


def config(tmp_path, name, **extra):
    # The test relay is on loopback.
    extra.setdefault("allow_insecure_destinations", True)
    return fio_peer.WalletConfig(
        database_path=str(tmp_path / f"{name}.sqlite"),
        private_key=KEYS[name],
        fio_address=f"{name}@bind",
        chain_id=os.environ["FIO_TEST_CHAIN_ID"],
        chain_nodes=[os.environ["FIO_TEST_DEVNET"]],
        relay=os.environ["FIO_TEST_RELAY"],
        **extra,
    )


def open_wallet(tmp_path, name, **extra):
    return fio_peer.FioWallet.open(config(tmp_path, name, **extra))


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
