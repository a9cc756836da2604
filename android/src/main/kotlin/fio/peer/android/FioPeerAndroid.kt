package fio.peer.android

import android.content.Context

/**
 * Android setup fio-peer needs before a wallet talks to the network.
 *
 * TLS to chain nodes and relays is verified by Android itself (its
 * TrustManager, through rustls-platform-verifier), so the app's Network
 * Security Config applies: user or enterprise CAs it allows, pins, cleartext
 * rules. That verifier reaches the JVM through JNI and needs the app's
 * Context once. Call [init] from `Application.onCreate`, before the first
 * `FioWallet.open`; until then every connection fails with an error that
 * says so (nothing local is affected).
 */
object FioPeerAndroid {
    @Volatile
    private var initialized = false

    /** Hands the platform verifier the application Context; idempotent. */
    @JvmStatic
    fun init(context: Context) {
        if (initialized) return
        synchronized(this) {
            if (initialized) return
            // The same library JNA loads for the generated bindings; the JNI
            // symbol below lives in it.
            System.loadLibrary("fio_peer")
            nativeInit(context.applicationContext)
            initialized = true
        }
    }

    @JvmStatic
    private external fun nativeInit(context: Context)
}
