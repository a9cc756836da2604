//! Android's JNI entry point, beside the uniffi scaffolding: the platform
//! TLS verifier calls Android's TrustManager through the JVM, and only a
//! JNI call hands it the JVM and the app's Context. The Kotlin side is
//! `fio.peer.android.FioPeerAndroid.init(context)` (android/src).

use jni::objects::{JClass, JObject};
use jni::EnvUnowned;

/// `FioPeerAndroid.nativeInit(context)`: a JNI error or a panic becomes a
/// Java RuntimeException, never an unwind into the JVM.
#[unsafe(no_mangle)]
pub extern "system" fn Java_fio_peer_android_FioPeerAndroid_nativeInit<'caller>(
    mut env: EnvUnowned<'caller>,
    _class: JClass<'caller>,
    context: JObject<'caller>,
) {
    env.with_env(|env| -> jni::errors::Result<()> {
        rustls_platform_verifier::android::init_with_env(env, context)?;
        crate::chain::tls::mark_android_ready();
        Ok(())
    })
    .resolve::<jni::errors::ThrowRuntimeExAndDefault>()
}
