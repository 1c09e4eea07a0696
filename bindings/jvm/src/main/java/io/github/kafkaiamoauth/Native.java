package io.github.kafkaiamoauth;

/**
 * The native methods of {@code libkafka_iam_oauth_jni.so} (bindings/jvm/src/lib.rs).
 * Each one throws {@link IamOAuthException} for a core error or a caught
 * panic; none crashes the JVM. Handles are owned by {@link TokenProvider}.
 */
final class Native {
    static {
        NativeLoader.load();
    }

    private Native() {}

    /** A provider for the configuration strings; the core's message naming the key when invalid. */
    static native long newProvider(String config, String extensions);

    /** Frees a handle from {@link #newProvider} (0: no-op). Once. */
    static native void freeProvider(long handle);

    /** The cached token, or one minted within {@code timeoutMs}. */
    static native Token token(long handle, long timeoutMs);

    /** mints, failures, last error kind ordinal, expires-in, refresh-in, next-attempt-in (ms; -1: none). */
    static native long[] stats(long handle);

    /** The configured SASL extensions as key, value, key, value... */
    static native String[] extensions(long handle);

    /** The native library's version (the Cargo workspace's). */
    static native String version();
}
