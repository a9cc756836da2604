"""The Python bindings of fio-peer's key functions, against the fiojs vectors."""
import json
import pathlib

import pytest

import fio_peer

VECTORS = json.loads(
    (pathlib.Path(__file__).parents[3] / "tests/vectors/fiojs-vectors.json").read_text()
)


def test_mnemonics_have_the_words_asked_for():
    assert len(fio_peer.new_mnemonic(12).split()) == 12
    assert len(fio_peer.new_mnemonic(24).split()) == 24
    with pytest.raises(fio_peer.FioPeerError.InvalidInput) as e:
        fio_peer.new_mnemonic(13)
    assert e.value.field == "words"


def test_derivation_matches_fiosdk():
    for case in VECTORS["hd_derivation"]:
        key = fio_peer.FioKey.from_mnemonic(case["mnemonic"])
        assert key.public_key() == case["fio_public_key"]
        assert key.export_wif() == case["wif"]


def test_keys_and_accounts_match_fiojs():
    for k in VECTORS["keys"]:
        key = fio_peer.FioKey.from_wif(k["wif"])
        assert key.public_key() == k["fio_public_key"]
        assert key.account_name() == k["fio_account_name"]
        assert fio_peer.FioKey.from_wif(k["pvt_k1"]) == key
        assert fio_peer.account_of(k["fio_public_key"]) == k["fio_account_name"]


def test_bad_input_is_a_typed_error_not_a_crash():
    for bad in ["", "nope", "5Kxx", "PVT_K1_"]:
        with pytest.raises(fio_peer.FioPeerError.InvalidInput) as e:
            fio_peer.FioKey.from_wif(bad)
        assert e.value.field == "private_key"
    with pytest.raises(fio_peer.FioPeerError.InvalidInput) as e:
        fio_peer.FioKey.from_mnemonic("not twelve english words")
    assert e.value.field == "mnemonic"
    with pytest.raises(fio_peer.FioPeerError.InvalidInput):
        fio_peer.account_of("EOS6MRyAjQq8ud7hVNYcfnVPJqcVpscN5So8BhtHuGYqET5GDW5CV")


def test_errors_carry_their_stable_code():
    with pytest.raises(fio_peer.FioPeerError.InvalidInput) as e:
        fio_peer.FioKey.from_wif("nope")
    assert e.value.code() == 1
