//! The envelope and the strict JSON parsers (docs/protocol.md §2.1, §2.4,
//! §2.7): never a panic, and what parses round-trips to the same value.
#![no_main]

use fio_peer::protocol::{parse_plaintext, Envelope, FioAddress, InboxLocation, MessageData};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    if let Ok(envelope) = Envelope::parse(data) {
        let again = Envelope::parse(envelope.to_json().as_bytes()).expect("our own JSON parses");
        assert_eq!(again, envelope);
    }
    let _ = parse_plaintext(data);
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    let _ = MessageData::peek(text);
    if let Ok(message) = MessageData::parse(text) {
        let again = MessageData::parse(&message.to_json()).expect("our own JSON parses");
        assert_eq!(again, message);
        let _ = message.validate();
    }
    if let Some(address) = FioAddress::parse(text) {
        assert_eq!(FioAddress::parse(address.as_str()), Some(address));
    }
    if let Some((kind, address)) = text.split_once('\n') {
        if let Ok(location) = InboxLocation::parse(kind, address) {
            let _ = location.submit_url();
        }
    }
});
