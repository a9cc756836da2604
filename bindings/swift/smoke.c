/* A C program compiled against the generated Swift FFI header calls the
 * library the way the Swift bindings do: strings in RustBuffers, errors in
 * RustCallStatus. Prints "N passed, M failed". */
#include <stdio.h>
#include <string.h>
#include "FioPeerFFI.h"

static int passed, failed;

static void check(int ok, const char *what) {
    if (ok) passed++; else { failed++; printf("FAIL %s\n", what); }
}

static RustBuffer string_buffer(const char *s) {
    RustCallStatus status = {0};
    ForeignBytes bytes = { (int32_t)strlen(s), (const uint8_t *)s };
    RustBuffer b = ffi_fio_peer_rustbuffer_from_bytes(bytes, &status);
    check(status.code == 0, "rustbuffer_from_bytes");
    return b;
}

int main(void) {
    check(ffi_fio_peer_uniffi_contract_version() == 30, "contract version 30");

    /* public_key_of on a fiojs vector key. */
    RustCallStatus status = {0};
    RustBuffer out = uniffi_fio_peer_fn_func_public_key_of(
        string_buffer("5J9bWm2ThenDm3tjvmUgHtWCVMUdjRR1pxnRtnJjvKA4b2ut5WK"), &status);
    const char *expected = "FIO7zsqi7QUAjTAdyynd6DVe8uv4K8gCTRHnAoMN9w9CA1xLCTDVv";
    check(status.code == 0, "public_key_of succeeds");
    check(out.len == strlen(expected) && memcmp(out.data, expected, out.len) == 0,
          "public_key_of gives the fiojs key");
    ffi_fio_peer_rustbuffer_free(out, &status);

    /* A bad key: CALL_ERROR (1) with FioPeerError variant 1, InvalidInput. */
    RustCallStatus error = {0};
    uniffi_fio_peer_fn_func_public_key_of(string_buffer("not a key"), &error);
    check(error.code == 1, "a bad key is an error");
    check(error.errorBuf.len >= 4 && error.errorBuf.data[0] == 0 && error.errorBuf.data[1] == 0
          && error.errorBuf.data[2] == 0 && error.errorBuf.data[3] == 1,
          "the error is InvalidInput");
    ffi_fio_peer_rustbuffer_free(error.errorBuf, &status);

    printf("swift C caller: %d passed, %d failed\n", passed, failed);
    return failed != 0;
}
