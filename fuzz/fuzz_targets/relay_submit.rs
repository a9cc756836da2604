//! The relay's submit check (`protocol::check_submission`, what fio-inbox
//! runs on every submit) against the wallet's parser: whatever the relay
//! stores and hands back in a fetch page, the wallet reads as the same
//! envelope, with the same duplicate key; whatever it refuses, the wallet
//! refuses too.
#![no_main]

use fio_peer::protocol::{check_submission, Envelope, IdToken};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|body: &[u8]| {
    let wallet = Envelope::parse(body);
    let Ok(stored) = check_submission(body) else {
        assert!(wallet.is_err(), "the relay refused what the wallet reads");
        return;
    };
    let envelope = wallet.expect("the wallet reads what the relay stores");
    assert_eq!(stored.new, matches!(envelope.id_token, IdToken::New));
    // The page a fetch returns, as the relay writes it and the wallet reads it.
    let page = serde_json::json!({"messages": [{"seq": 1, "envelope": stored.text}]}).to_string();
    let read: serde_json::Value = serde_json::from_str(&page).expect("the page is JSON");
    let text = read["messages"][0]["envelope"].as_str().expect("a string");
    let fetched = Envelope::parse(text.as_bytes()).expect("the fetched envelope parses");
    assert_eq!(fetched, envelope);
    let again = check_submission(text.as_bytes()).expect("a resubmit is accepted");
    assert_eq!(again.key, stored.key, "a resubmit is a duplicate");
});
