//! SQLCipher's crypto provider, from RustCrypto crates.
//!
//! SQLCipher (the page format, the key schedule, the HMAC check of every
//! page) calls a small table of primitives: AES-256-CBC without padding,
//! HMAC-SHA1/256/512, PBKDF2 and random bytes. On Apple targets it uses
//! CommonCrypto. Elsewhere (Android, Linux) its default is OpenSSL, which an
//! Android app would have to ship (≈ 3 MB) and every build would compile.
//! This module fills the same table from the crates the protocol code
//! already uses, so the build needs no OpenSSL at all. The build selects it
//! with `-DSQLCIPHER_CRYPTO_CUSTOM=fio_peer_sqlcipher_setup` (.cargo/config.toml);
//! build.rs satisfies the `-lcrypto` that libsqlite3-sys still asks for
//! with an empty archive.
//!
//! Every function is `extern "C"` and called by C: none may panic (a panic
//! here aborts the process), so lengths are checked and errors are
//! `SQLITE_ERROR`.

use std::ffi::{c_char, c_int, c_void};

use aes::cipher::{BlockModeDecrypt, BlockModeEncrypt, KeyIvInit};
use hmac::{Hmac, KeyInit, Mac};

const SQLITE_OK: c_int = 0;
const SQLITE_ERROR: c_int = 1;

// SQLCipher's algorithm numbers (sqlcipher.h).
const HMAC_SHA1: c_int = 0;
const HMAC_SHA256: c_int = 1;
const HMAC_SHA512: c_int = 2;
const ENCRYPT: c_int = 1;

const KEY_SIZE: c_int = 32;
const BLOCK_SIZE: c_int = 16;

/// `struct sqlcipher_provider` of SQLCipher 4 (sqlcipher.h), field for
/// field. SQLCipher allocates it and this module fills it in.
#[repr(C)]
pub struct Provider {
    init: Option<unsafe extern "C" fn() -> c_int>,
    shutdown: Option<unsafe extern "C" fn()>,
    get_provider_name: Option<unsafe extern "C" fn(*mut c_void) -> *const c_char>,
    add_random: Option<unsafe extern "C" fn(*mut c_void, *const c_void, c_int) -> c_int>,
    random: Option<unsafe extern "C" fn(*mut c_void, *mut c_void, c_int) -> c_int>,
    #[allow(clippy::type_complexity)]
    hmac: Option<
        unsafe extern "C" fn(
            *mut c_void,
            c_int,
            *const u8,
            c_int,
            *const u8,
            c_int,
            *const u8,
            c_int,
            *mut u8,
        ) -> c_int,
    >,
    #[allow(clippy::type_complexity)]
    kdf: Option<
        unsafe extern "C" fn(
            *mut c_void,
            c_int,
            *const u8,
            c_int,
            *const u8,
            c_int,
            c_int,
            c_int,
            *mut u8,
        ) -> c_int,
    >,
    #[allow(clippy::type_complexity)]
    cipher: Option<
        unsafe extern "C" fn(
            *mut c_void,
            c_int,
            *const u8,
            c_int,
            *const u8,
            *const u8,
            c_int,
            *mut u8,
        ) -> c_int,
    >,
    get_cipher: Option<unsafe extern "C" fn(*mut c_void) -> *const c_char>,
    get_key_sz: Option<unsafe extern "C" fn(*mut c_void) -> c_int>,
    get_iv_sz: Option<unsafe extern "C" fn(*mut c_void) -> c_int>,
    get_block_sz: Option<unsafe extern "C" fn(*mut c_void) -> c_int>,
    get_hmac_sz: Option<unsafe extern "C" fn(*mut c_void, c_int) -> c_int>,
    ctx_init: Option<unsafe extern "C" fn(*mut *mut c_void) -> c_int>,
    ctx_free: Option<unsafe extern "C" fn(*mut *mut c_void) -> c_int>,
    fips_status: Option<unsafe extern "C" fn(*mut c_void) -> c_int>,
    get_provider_version: Option<unsafe extern "C" fn(*mut c_void) -> *const c_char>,
    next: *mut Provider,
}

/// The name `PRAGMA cipher_provider` reports.
pub(crate) const PROVIDER_NAME: &std::ffi::CStr = c"fio-peer-rustcrypto";

/// Called once by SQLCipher's initialisation (the name is given to it by
/// `SQLCIPHER_CRYPTO_CUSTOM`).
///
/// # Safety
/// `p` points to a `sqlcipher_provider` SQLCipher allocated.
#[no_mangle]
pub unsafe extern "C" fn fio_peer_sqlcipher_setup(p: *mut Provider) -> c_int {
    let Some(p) = (unsafe { p.as_mut() }) else {
        return SQLITE_ERROR;
    };
    p.init = None;
    p.shutdown = None;
    p.get_provider_name = Some(provider_name);
    p.add_random = Some(add_random);
    p.random = Some(random);
    p.hmac = Some(hmac);
    p.kdf = Some(kdf);
    p.cipher = Some(cipher);
    p.get_cipher = Some(cipher_name);
    p.get_key_sz = Some(key_size);
    p.get_iv_sz = Some(block_size);
    p.get_block_sz = Some(block_size);
    p.get_hmac_sz = Some(hmac_size);
    p.ctx_init = Some(ctx_noop);
    p.ctx_free = Some(ctx_noop);
    p.fips_status = Some(fips_status);
    p.get_provider_version = Some(provider_version);
    SQLITE_OK
}

/// Keeps the setup function in the link: SQLCipher's static library refers
/// to it, and the linker reads this crate's objects before it.
pub fn linked() -> usize {
    std::hint::black_box(fio_peer_sqlcipher_setup as *const () as usize)
}

/// `len` bytes at `ptr`, or `None` for a negative length or a null pointer
/// with a non-zero length.
unsafe fn bytes<'a>(ptr: *const u8, len: c_int) -> Option<&'a [u8]> {
    let len = usize::try_from(len).ok()?;
    if len == 0 {
        return Some(&[]);
    }
    if ptr.is_null() {
        return None;
    }
    Some(unsafe { std::slice::from_raw_parts(ptr, len) })
}

unsafe fn bytes_mut<'a>(ptr: *mut u8, len: c_int) -> Option<&'a mut [u8]> {
    let len = usize::try_from(len).ok()?;
    if len == 0 {
        return Some(&mut []);
    }
    if ptr.is_null() {
        return None;
    }
    Some(unsafe { std::slice::from_raw_parts_mut(ptr, len) })
}

unsafe extern "C" fn provider_name(_: *mut c_void) -> *const c_char {
    PROVIDER_NAME.as_ptr()
}

unsafe extern "C" fn provider_version(_: *mut c_void) -> *const c_char {
    c"aes 0.9, hmac 0.13, pbkdf2 0.13".as_ptr()
}

unsafe extern "C" fn cipher_name(_: *mut c_void) -> *const c_char {
    c"aes-256-cbc".as_ptr()
}

unsafe extern "C" fn key_size(_: *mut c_void) -> c_int {
    KEY_SIZE
}

unsafe extern "C" fn block_size(_: *mut c_void) -> c_int {
    BLOCK_SIZE
}

unsafe extern "C" fn hmac_size(_: *mut c_void, algorithm: c_int) -> c_int {
    match algorithm {
        HMAC_SHA1 => 20,
        HMAC_SHA256 => 32,
        HMAC_SHA512 => 64,
        _ => 0,
    }
}

unsafe extern "C" fn ctx_noop(_: *mut *mut c_void) -> c_int {
    SQLITE_OK
}

unsafe extern "C" fn fips_status(_: *mut c_void) -> c_int {
    0
}

/// The operating system's generator needs no seeding.
unsafe extern "C" fn add_random(_: *mut c_void, _: *const c_void, _: c_int) -> c_int {
    SQLITE_OK
}

unsafe extern "C" fn random(_: *mut c_void, buffer: *mut c_void, length: c_int) -> c_int {
    match unsafe { bytes_mut(buffer.cast(), length) }.map(getrandom::fill) {
        Some(Ok(())) => SQLITE_OK,
        _ => SQLITE_ERROR,
    }
}

fn mac<M: Mac + KeyInit>(key: &[u8], parts: [&[u8]; 2], out: &mut [u8]) -> c_int {
    let Ok(mut m) = <M as KeyInit>::new_from_slice(key) else {
        return SQLITE_ERROR;
    };
    for part in parts {
        m.update(part);
    }
    let tag = m.finalize().into_bytes();
    match out.get_mut(..tag.len()) {
        Some(out) => {
            out.copy_from_slice(&tag);
            SQLITE_OK
        }
        None => SQLITE_ERROR,
    }
}

#[allow(clippy::too_many_arguments)]
unsafe extern "C" fn hmac(
    _: *mut c_void,
    algorithm: c_int,
    key: *const u8,
    key_sz: c_int,
    in1: *const u8,
    in1_sz: c_int,
    in2: *const u8,
    in2_sz: c_int,
    out: *mut u8,
) -> c_int {
    let size = unsafe { hmac_size(std::ptr::null_mut(), algorithm) };
    let (Some(key), Some(in1), Some(out)) = (
        unsafe { bytes(key, key_sz) },
        unsafe { bytes(in1, in1_sz) },
        unsafe { bytes_mut(out, size) },
    ) else {
        return SQLITE_ERROR;
    };
    // A null second input means none (SQLCipher passes the page number
    // there).
    let in2 = if in2.is_null() {
        &[][..]
    } else {
        match unsafe { bytes(in2, in2_sz) } {
            Some(b) => b,
            None => return SQLITE_ERROR,
        }
    };
    match algorithm {
        HMAC_SHA1 => mac::<Hmac<sha1::Sha1>>(key, [in1, in2], out),
        HMAC_SHA256 => mac::<Hmac<sha2::Sha256>>(key, [in1, in2], out),
        HMAC_SHA512 => mac::<Hmac<sha2::Sha512>>(key, [in1, in2], out),
        _ => SQLITE_ERROR,
    }
}

#[allow(clippy::too_many_arguments)]
unsafe extern "C" fn kdf(
    _: *mut c_void,
    algorithm: c_int,
    pass: *const u8,
    pass_sz: c_int,
    salt: *const u8,
    salt_sz: c_int,
    workfactor: c_int,
    key_sz: c_int,
    key: *mut u8,
) -> c_int {
    let (Some(pass), Some(salt), Some(key), Ok(rounds)) = (
        unsafe { bytes(pass, pass_sz) },
        unsafe { bytes(salt, salt_sz) },
        unsafe { bytes_mut(key, key_sz) },
        u32::try_from(workfactor),
    ) else {
        return SQLITE_ERROR;
    };
    if rounds == 0 {
        return SQLITE_ERROR;
    }
    match algorithm {
        // SQLCipher's PBKDF2 numbers are its HMAC numbers.
        HMAC_SHA1 => pbkdf2::pbkdf2_hmac::<sha1::Sha1>(pass, salt, rounds, key),
        HMAC_SHA256 => pbkdf2::pbkdf2_hmac::<sha2::Sha256>(pass, salt, rounds, key),
        HMAC_SHA512 => pbkdf2::pbkdf2_hmac::<sha2::Sha512>(pass, salt, rounds, key),
        _ => return SQLITE_ERROR,
    }
    SQLITE_OK
}

/// AES-256-CBC over whole blocks, no padding (a page is a whole number of
/// blocks). `input` and `out` may be one buffer.
#[allow(clippy::too_many_arguments)]
unsafe extern "C" fn cipher(
    _: *mut c_void,
    mode: c_int,
    key: *const u8,
    key_sz: c_int,
    iv: *const u8,
    input: *const u8,
    in_sz: c_int,
    out: *mut u8,
) -> c_int {
    let (Some(key), Some(iv)) = (unsafe { bytes(key, key_sz) }, unsafe {
        bytes(iv, BLOCK_SIZE)
    }) else {
        return SQLITE_ERROR;
    };
    let Ok(len) = usize::try_from(in_sz) else {
        return SQLITE_ERROR;
    };
    if len % BLOCK_SIZE as usize != 0 || input.is_null() || out.is_null() {
        return SQLITE_ERROR;
    }
    // Copies first (memmove: the buffers may overlap), then works in place.
    unsafe { std::ptr::copy(input, out, len) };
    let Some(data) = (unsafe { bytes_mut(out, in_sz) }) else {
        return SQLITE_ERROR;
    };
    let (blocks, rest) = data.as_chunks_mut::<16>();
    if !rest.is_empty() {
        return SQLITE_ERROR;
    }
    let blocks: &mut [aes::Block] = blocks_of(blocks);
    if mode == ENCRYPT {
        match cbc::Encryptor::<aes::Aes256>::new_from_slices(key, iv) {
            Ok(mut c) => c.encrypt_blocks(blocks),
            Err(_) => return SQLITE_ERROR,
        }
    } else {
        match cbc::Decryptor::<aes::Aes256>::new_from_slices(key, iv) {
            Ok(mut c) => c.decrypt_blocks(blocks),
            Err(_) => return SQLITE_ERROR,
        }
    }
    SQLITE_OK
}

fn blocks_of(chunks: &mut [[u8; 16]]) -> &mut [aes::Block] {
    // aes::Block is a 16-byte array type: the same memory, typed.
    aes::cipher::array::Array::cast_slice_from_core_mut(chunks)
}
