//! `uniffi-bindgen`, built from the same pinned uniffi as the library, so the
//! generated bindings and the library's scaffolding can never disagree.
fn main() {
    uniffi::uniffi_bindgen_main()
}
