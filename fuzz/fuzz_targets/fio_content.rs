//! FIO ABI unpacking: the encrypted contents' structs (docs/protocol.md
//! §1.8, §3.3) and the fio.privacy actions (§3.5). Never a panic; what
//! unpacks packs back to the same bytes (padding aside).
#![no_main]

use fio_peer::chain::PrivacyAction;
use fio_peer::crypto::ContentType;
use libfuzzer_sys::fuzz_target;

const CONTENTS: [&str; 4] = [
    "new_funds_content",
    "record_obt_data_content",
    "priv_record_send_content",
    "friend_content",
];
const ACTIONS: [&str; 7] = [
    "addfriend",
    "removefriend",
    "privaddadr",
    "privganbpa",
    "privfundsreq",
    "privrecsend",
    "setaddpriv",
];

fuzz_target!(|data: &[u8]| {
    // The first byte picks what the rest is read as.
    let Some((&pick, bytes)) = data.split_first() else {
        return;
    };
    let pick = pick as usize % (CONTENTS.len() + ACTIONS.len());
    if let Some(name) = CONTENTS.get(pick) {
        let ty = ContentType::parse(name).expect("a content type");
        if let Ok(values) = ty.unpack_values(bytes) {
            let refs: Vec<Option<&str>> = values.iter().map(|v| v.as_deref()).collect();
            assert_eq!(ty.pack_values(&refs).expect("unpacked values pack"), bytes);
            let json = ty.unpack_json(bytes).expect("unpacks as JSON too");
            assert_eq!(ty.pack_json(&json).expect("and packs back"), bytes);
        }
        if let Ok(values) = ty.unpack_padded_values(bytes) {
            let refs: Vec<Option<&str>> = values.iter().map(|v| v.as_deref()).collect();
            let packed = ty.pack_values(&refs).expect("unpacked values pack");
            assert!(bytes.starts_with(&packed) && bytes[packed.len()..].iter().all(|&b| b == 0));
        }
    } else {
        let name = ACTIONS[pick - CONTENTS.len()];
        if let Ok(action) = PrivacyAction::unpack(name, bytes) {
            assert_eq!(action.pack(), bytes);
            let json = action.to_json();
            let again = PrivacyAction::from_json(name, &json).expect("its JSON reads back");
            assert_eq!(again.pack(), bytes);
        }
    }
});
