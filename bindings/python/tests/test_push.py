"""Woken by push through the bindings (issue 19): a wallet registers a
push gateway; a peer's funds request makes the relay push to it; the
notification-extension call on the wallet opened afresh shows the request.
The gateway is a local HTTP server (the relay runs with
--push-allow-insecure)."""
import asyncio
import http.server
import json
import queue
import threading

import pytest

import fio_peer
from conftest import open_wallet
from test_app_api import channel


class Gateway:
    """A Matrix push gateway on loopback: keeps each notification."""

    def __init__(self):
        self.got = queue.Queue()
        outer = self

        class Handler(http.server.BaseHTTPRequestHandler):
            def do_POST(self):
                body = self.rfile.read(int(self.headers.get("Content-Length", 0)))
                outer.got.put(json.loads(body))
                answer = b'{"rejected":[]}'
                self.send_response(200)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(answer)))
                self.end_headers()
                self.wfile.write(answer)

            def log_message(self, *args):
                pass

        self.server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        threading.Thread(target=self.server.serve_forever, daemon=True).start()
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/_matrix/push/v1/notify"


@pytest.fixture
def gateway():
    g = Gateway()
    yield g
    g.server.shutdown()


def test_a_request_pushes_to_the_gateway_and_the_extension_call_shows_it(tmp_path, gateway):
    alice, bob = open_wallet(tmp_path, "alice"), open_wallet(tmp_path, "bob")
    channel(alice, bob)
    # The app has shown what it has so far.
    alice.mark_events_handled(alice.events(None, 1000)[-1].id)
    target = fio_peer.FioPushTarget.gateway(gateway.url, "com.example.wallet", "alice-phone-token")
    assert str(target) == "FioPushTarget(gateway)"
    assert "alice-phone-token" not in repr(target)
    registered = asyncio.run(alice.register_push(target))
    assert len(registered.push_id) == 32 and registered.target.kind() == "gateway"
    assert [r.push_id for r in alice.push_registrations()] == [registered.push_id]
    key = asyncio.run(alice.relay_push_key())
    assert len(key) == 87 and "=" not in key
    alice.shutdown()
    del alice

    bob.request_funds("alice@bind", fio_peer.FundsRequestData(
        payee_public_address="bc1qbob", chain_code="BTC", token_code="BTC",
        amount="0.01", memo="dinner"))
    asyncio.run(bob.sync())
    note = gateway.got.get(timeout=5)["notification"]
    assert note["devices"] == [{"app_id": "com.example.wallet", "pushkey": "alice-phone-token"}]
    assert "dinner" not in json.dumps(note)

    # The extension: the wallet opened from its file, one call, closed.
    alice = open_wallet(tmp_path, "alice")
    assert note["room_id"] in alice.inbox()
    got = asyncio.run(alice.receive_for_notification(5000))
    assert [n.text for n in got.notices] == ["bob@bind requests 0.01 BTC: dinner"]
    assert got.notices[0].action == fio_peer.MessageAction.NEW_FUNDS_REQUEST
    assert got.summary.stopped == fio_peer.SyncStop.COMPLETE
    assert asyncio.run(alice.receive_for_notification(5000)).notices == []
    with pytest.raises(fio_peer.FioPeerError.InvalidInput):
        asyncio.run(alice.receive_for_notification(0))

    assert asyncio.run(alice.remove_push(registered.push_id)) is True
    assert alice.push_registrations() == []
