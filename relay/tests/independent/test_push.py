"""The relay's pushes (docs/protocol.md §4.4) read by independent code: a
Web Push receiver decrypts the body with Python's http_ece (RFC 8291
aes128gcm) and checks the VAPID JWT (RFC 8292) with `cryptography` against
the key from /v1/push/vapid; a push gateway receiver checks the Matrix JSON.
Run by bindings/test.sh beside the bindings' suite; the relay is
FIO_TEST_RELAY (bindings/servers.sh runs it with
--push-allow-insecure, so loopback receivers are allowed)."""

import base64
import http.server
import json
import os
import queue
import secrets
import threading
import time
import urllib.request

import http_ece
import pytest
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.hazmat.primitives.asymmetric.utils import encode_dss_signature


def b64url(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def unb64url(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def call(method, url, body=None, credential=None):
    data = None if body is None else json.dumps(body).encode()
    request = urllib.request.Request(url, data=data, method=method)
    if body is not None:
        request.add_header("Content-Type", "application/json")
    if credential:
        request.add_header("Authorization", f"Bearer {credential}")
    try:
        with urllib.request.urlopen(request, timeout=10) as r:
            raw = r.read()
            return r.status, json.loads(raw) if raw else None
    except urllib.error.HTTPError as e:
        return e.code, json.loads(e.read() or b"null")


class Receiver:
    """An HTTP server on loopback that keeps every POST it gets."""

    def __init__(self, answer=201, body=b""):
        self.got = queue.Queue()
        outer = self

        class Handler(http.server.BaseHTTPRequestHandler):
            def do_POST(self):
                length = int(self.headers.get("Content-Length", 0))
                outer.got.put((self.path, dict(self.headers), self.rfile.read(length)))
                self.send_response(answer)
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, *args):
                pass

        self.server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        threading.Thread(target=self.server.serve_forever, daemon=True).start()
        self.base = f"http://127.0.0.1:{self.server.server_address[1]}"

    def next(self, timeout=3.0):
        return self.got.get(timeout=timeout)

    def close(self):
        self.server.shutdown()


@pytest.fixture
def relay():
    return os.environ["FIO_TEST_RELAY"]


@pytest.fixture
def inbox(relay):
    status, created = call("POST", f"{relay}/v1/inboxes")
    assert status == 201
    return created


def envelope(i: int) -> dict:
    content = secrets.token_bytes(32).hex() + f"{i:08x}"
    return {"protocol": "fio_dm", "version": "1.0", "id_token": "NEW", "content": content}


def test_a_web_push_decrypts_with_http_ece_and_its_vapid_jwt_verifies(relay, inbox):
    receiver = Receiver()
    try:
        device = ec.generate_private_key(ec.SECP256R1())
        p256dh = device.public_key().public_bytes(
            serialization.Encoding.X962, serialization.PublicFormat.UncompressedPoint)
        auth = secrets.token_bytes(16)
        # As a browser's PushSubscription.toJSON() gives it.
        subscription = {"kind": "webpush", "endpoint": f"{receiver.base}/wp/device-1",
                        "expirationTime": None,
                        "keys": {"p256dh": b64url(p256dh), "auth": b64url(auth)}}
        status, v = call("POST", f"{inbox['inbox_url']}/push", subscription, inbox["credential"])
        assert status == 201 and len(v["push_id"]) == 32
        status, _ = call("POST", inbox["inbox_url"], envelope(1))
        assert status == 202

        path, headers, body = receiver.next()
        assert path == "/wp/device-1"
        headers = {k.lower(): v for k, v in headers.items()}
        assert headers["content-encoding"] == "aes128gcm"
        assert headers["urgency"] == "high"
        assert int(headers["ttl"]) > 0
        plain = http_ece.decrypt(body, private_key=device, auth_secret=auth, version="aes128gcm")
        assert json.loads(plain) == {"inbox_id": inbox["inbox_id"], "seq": 1}
        assert plain == json.dumps({"inbox_id": inbox["inbox_id"], "seq": 1},
                                   separators=(",", ":")).encode()
        assert len(body) <= 4096

        # Authorization: vapid t=<JWT>, k=<the key /v1/push/vapid gives>
        scheme, params = headers["authorization"].split(" ", 1)
        assert scheme == "vapid"
        fields = dict(p.strip().split("=", 1) for p in params.split(","))
        status, published = call("GET", f"{relay}/v1/push/vapid")
        assert status == 200 and fields["k"] == published["public_key"]
        key_bytes = unb64url(published["public_key"])
        assert len(key_bytes) == 65 and key_bytes[0] == 4
        assert "=" not in published["public_key"]
        vapid = ec.EllipticCurvePublicKey.from_encoded_point(ec.SECP256R1(), key_bytes)
        head, claims, signature = fields["t"].split(".")
        assert json.loads(unb64url(head)) == {"typ": "JWT", "alg": "ES256"}
        raw = unb64url(signature)
        assert len(raw) == 64
        der = encode_dss_signature(int.from_bytes(raw[:32], "big"), int.from_bytes(raw[32:], "big"))
        vapid.verify(der, f"{head}.{claims}".encode(), ec.ECDSA(hashes.SHA256()))
        claims = json.loads(unb64url(claims))
        assert claims["aud"] == receiver.base
        assert time.time() < claims["exp"] <= time.time() + 24 * 3600
        assert claims["sub"].startswith(("mailto:", "https:"))

        # Another device's keys cannot read it.
        with pytest.raises(Exception):
            http_ece.decrypt(body, private_key=ec.generate_private_key(ec.SECP256R1()),
                             auth_secret=auth, version="aes128gcm")
    finally:
        receiver.close()


def test_a_push_gateway_gets_the_matrix_notification_and_nothing_more(relay, inbox):
    receiver = Receiver(answer=200, body=b'{"rejected":[]}')
    try:
        pusher = {"kind": "gateway", "url": f"{receiver.base}/_matrix/push/v1/notify",
                  "app_id": "com.example.wallet.ios", "pushkey": "apns-device-token"}
        status, _ = call("POST", f"{inbox['inbox_url']}/push", pusher, inbox["credential"])
        assert status == 201
        for i in range(2):
            assert call("POST", inbox["inbox_url"], envelope(i))[0] == 202
        path, headers, body = receiver.next()
        assert path == "/_matrix/push/v1/notify"
        assert {k.lower(): v for k, v in headers.items()}["content-type"].startswith("application/json")
        note = json.loads(body)["notification"]
        assert set(note) == {"event_id", "room_id", "counts", "prio", "devices"}
        assert note["room_id"] == inbox["inbox_id"]
        assert note["prio"] == "high"
        assert note["devices"] == [{"app_id": "com.example.wallet.ios", "pushkey": "apns-device-token"}]
        assert note["event_id"] in ("1", "2")
        if note["event_id"] == "1":
            # The second submit came within the window: its own push follows.
            _, _, body = receiver.next()
            note = json.loads(body)["notification"]
        assert note["event_id"] == "2" and note["counts"] == {"unread": 2}
    finally:
        receiver.close()
