#!/usr/bin/env python3
"""Writes the fuzz targets' seed corpora from the repository's vectors.

    fuzz/seeds.py OUT_DIR       (one directory per target under OUT_DIR)

Seeds are derived, not kept: tests/vectors/fio_dm_v1.json (envelopes, data
texts, plaintexts) and tests/vectors/fip3_v1.json (ABI contents, action
data). The first byte of a wallet_receive or fio_content seed picks its
mode, as the targets read it.
"""
import hashlib
import json
import pathlib
import sys

root = pathlib.Path(__file__).resolve().parent.parent
out = pathlib.Path(sys.argv[1])
dm = json.loads((root / "tests/vectors/fio_dm_v1.json").read_text())
fip3 = json.loads((root / "tests/vectors/fip3_v1.json").read_text())

CONTENTS = ["new_funds_content", "record_obt_data_content",
            "priv_record_send_content", "friend_content"]
ACTIONS = ["addfriend", "removefriend", "privaddadr", "privganbpa",
           "privfundsreq", "privrecsend", "setaddpriv"]


def seed(target, data):
    d = out / target
    d.mkdir(parents=True, exist_ok=True)
    (d / hashlib.sha1(data).hexdigest()).write_bytes(data)


def for_harness(data_text):
    """A vector's data text addressed as the wallet_receive harness's
    parties (Alice writes to Bob), so it gets past the address checks."""
    data = json.loads(data_text)
    data["sender_fio_address"] = "alice@fuzz"
    data["recipient_fio_address"] = "bob@fuzz"
    return json.dumps(data, separators=(",", ":")).encode()


for case in dm["valid"] + dm["invalid"]:
    envelope = case["envelope"].encode()
    for target in ("envelope_json", "relay_submit"):
        seed(target, envelope)
    seed("wallet_receive", b"\x00" + envelope)
for case in dm["valid"]:
    seed("envelope_json", case["data"].encode())
    harness = for_harness(case["data"])
    seed("wallet_receive", b"\x01" + harness)
    seed("wallet_receive", b"\x02" + harness)
    if "plaintext_hex" in case:
        plaintext = bytes.fromhex(case["plaintext_hex"])
        seed("envelope_json", plaintext)
        seed("wallet_receive", b"\x03" + plaintext)
for text in ("alice@fuzz", "URL\nhttps://inbox.example/v1/inboxes/ab/messages",
             "IPA\n203.0.113.7:8080"):
    seed("envelope_json", text.encode())

for case in fip3["contents"] + fip3["padded_contents"]:
    pick = bytes([CONTENTS.index(case["content_type"])])
    seed("fio_content", pick + bytes.fromhex(case["abi_packed_hex"]))
    if "padded_hex" in case:
        seed("fio_content", pick + bytes.fromhex(case["padded_hex"]))
for case in fip3["actions"]:
    pick = bytes([len(CONTENTS) + ACTIONS.index(case["name"])])
    seed("fio_content", pick + bytes.fromhex(case["hex_data"]))
