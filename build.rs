//! SQLCipher's crypto comes from Rust (src/store/cipher.rs) when the build
//! selects it (`-DSQLCIPHER_CRYPTO_CUSTOM=fio_peer_sqlcipher_setup` in
//! LIBSQLITE3_FLAGS, .cargo/config.toml). libsqlite3-sys still links
//! `-lcrypto` outside Apple; an empty archive answers it, so no OpenSSL is
//! needed or linked (Android has none to link).

fn main() {
    println!("cargo:rerun-if-env-changed=LIBSQLITE3_FLAGS");
    let flags = std::env::var("LIBSQLITE3_FLAGS").unwrap_or_default();
    let custom = flags
        .split_whitespace()
        .any(|f| f == "-DSQLCIPHER_CRYPTO_CUSTOM=fio_peer_sqlcipher_setup");
    let apple = std::env::var("CARGO_CFG_TARGET_VENDOR").is_ok_and(|v| v == "apple");
    if custom && !apple {
        let dir = std::path::PathBuf::from(std::env::var("OUT_DIR").expect("cargo sets OUT_DIR"));
        std::fs::write(dir.join("libcrypto.a"), b"!<arch>\n").expect("OUT_DIR is writable");
        println!("cargo:rustc-link-search=native={}", dir.display());
    }
}
