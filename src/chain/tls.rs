//! Whom TLS to chain nodes and relays trusts: the operating system's
//! verifier (rustls-platform-verifier). On Android it asks the platform's
//! TrustManager, so Network Security Config (user and enterprise CAs,
//! pinning) applies; on Apple platforms Security.framework, so App
//! Transport Security and configuration profiles apply; on Windows the
//! system store. On Linux and other Unix systems it is the system's CA
//! bundle (SSL_CERT_FILE and SSL_CERT_DIR honoured) with Mozilla's roots
//! added, so a container without a CA bundle still reaches public nodes.

use std::sync::{Arc, OnceLock};

#[cfg(not(target_os = "android"))]
use rustls::crypto::CryptoProvider;

/// The TLS client settings of every HTTP client of the library, made once
/// per process: on Linux the verifier reads and parses the system's CA
/// bundle, which a wallet's three HTTP clients need not do three times.
pub(crate) fn client_config() -> Result<rustls::ClientConfig, String> {
    static CONFIG: OnceLock<Result<rustls::ClientConfig, String>> = OnceLock::new();
    CONFIG
        .get_or_init(|| {
            let provider = Arc::new(rustls::crypto::ring::default_provider());
            let verifier = verifier(provider.clone())?;
            Ok(rustls::ClientConfig::builder_with_provider(provider)
                .with_safe_default_protocol_versions()
                .map_err(|e| e.to_string())?
                .dangerous()
                // "dangerous" is rustls's name for any verifier but its own
                // WebPKI one; this one is the platform's, stricter where the
                // platform's policy is.
                .with_custom_certificate_verifier(verifier)
                .with_no_client_auth())
        })
        .clone()
}

#[cfg(any(target_vendor = "apple", windows))]
fn verifier(
    provider: Arc<CryptoProvider>,
) -> Result<Arc<dyn rustls::client::danger::ServerCertVerifier>, String> {
    rustls_platform_verifier::Verifier::new(provider)
        .map(|v| Arc::new(v) as _)
        .map_err(|e| format!("the platform's TLS verifier: {e}"))
}

#[cfg(not(any(target_vendor = "apple", windows, target_os = "android")))]
fn verifier(
    provider: Arc<CryptoProvider>,
) -> Result<Arc<dyn rustls::client::danger::ServerCertVerifier>, String> {
    rustls_platform_verifier::Verifier::new_with_extra_roots(
        webpki_root_certs::TLS_SERVER_ROOT_CERTS.iter().cloned(),
        provider,
    )
    .map(|v| Arc::new(v) as _)
    .map_err(|e| format!("the system's TLS trust: {e}"))
}

#[cfg(target_os = "android")]
pub(crate) use android::{mark_ready as mark_android_ready, verifier};

#[cfg(target_os = "android")]
mod android {
    use std::sync::atomic::{AtomicBool, Ordering};
    use std::sync::Arc;

    use rustls::client::danger::{HandshakeSignatureValid, ServerCertVerified, ServerCertVerifier};
    use rustls::crypto::CryptoProvider;
    use rustls::pki_types::{CertificateDer, ServerName, UnixTime};
    use rustls::{DigitallySignedStruct, SignatureScheme};

    /// Set once the app gave the verifier its JVM and Context
    /// (`FioPeerAndroid.init`, src/ffi/android.rs).
    static READY: AtomicBool = AtomicBool::new(false);

    pub(crate) fn mark_ready() {
        READY.store(true, Ordering::Release);
    }

    /// The platform verifier, behind a check that it was initialized: its
    /// certificate check panics otherwise, on a network thread of the app
    /// (the signature checks never reach the JVM). Uninitialized, a
    /// connection fails with an error that says what to call.
    #[derive(Debug)]
    struct Guarded(rustls_platform_verifier::Verifier);

    const NOT_READY: &str = "the Android TLS verifier is not initialized: call \
        FioPeerAndroid.init(context) once before opening a wallet";

    impl ServerCertVerifier for Guarded {
        fn verify_server_cert(
            &self,
            end_entity: &CertificateDer<'_>,
            intermediates: &[CertificateDer<'_>],
            server_name: &ServerName<'_>,
            ocsp_response: &[u8],
            now: UnixTime,
        ) -> Result<ServerCertVerified, rustls::Error> {
            if !READY.load(Ordering::Acquire) {
                return Err(rustls::Error::General(NOT_READY.into()));
            }
            self.0
                .verify_server_cert(end_entity, intermediates, server_name, ocsp_response, now)
        }

        fn verify_tls12_signature(
            &self,
            message: &[u8],
            cert: &CertificateDer<'_>,
            dss: &DigitallySignedStruct,
        ) -> Result<HandshakeSignatureValid, rustls::Error> {
            self.0.verify_tls12_signature(message, cert, dss)
        }

        fn verify_tls13_signature(
            &self,
            message: &[u8],
            cert: &CertificateDer<'_>,
            dss: &DigitallySignedStruct,
        ) -> Result<HandshakeSignatureValid, rustls::Error> {
            self.0.verify_tls13_signature(message, cert, dss)
        }

        fn supported_verify_schemes(&self) -> Vec<SignatureScheme> {
            self.0.supported_verify_schemes()
        }

        fn requires_raw_public_keys(&self) -> bool {
            self.0.requires_raw_public_keys()
        }
    }

    pub(crate) fn verifier(
        provider: Arc<CryptoProvider>,
    ) -> Result<Arc<dyn ServerCertVerifier>, String> {
        rustls_platform_verifier::Verifier::new(provider)
            .map(|v| Arc::new(Guarded(v)) as _)
            .map_err(|e| format!("the platform's TLS verifier: {e}"))
    }
}
