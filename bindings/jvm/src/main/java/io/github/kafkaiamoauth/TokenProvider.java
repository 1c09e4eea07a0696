package io.github.kafkaiamoauth;

import java.time.Duration;
import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.concurrent.locks.ReentrantReadWriteLock;

/**
 * Tokens for one configuration ({@code sasl.oauthbearer.config} grammar,
 * the same keys as every other front door: README's table), from the
 * process-wide cache of the native core: every provider with the same
 * configuration in the JVM shares one token and one STS call per refresh,
 * refreshed ahead of expiry in the background. Thread-safe. Close it to
 * free its native handle (the shared token stays for the others).
 */
public final class TokenProvider implements AutoCloseable {
    /** How long {@link #token()} waits for a first token (the core's default). */
    public static final Duration DEFAULT_TIMEOUT = Duration.ofSeconds(8);

    // Calls hold the read lock, close() the write lock: no call uses a freed handle.
    private final ReentrantReadWriteLock lock = new ReentrantReadWriteLock();
    private long handle;

    /** A provider for {@code config}; throws {@link IamOAuthException} ({@code CONFIG}, naming the key) when invalid. */
    public TokenProvider(String config) {
        this(config, "");
    }

    /**
     * A provider for {@code config} and {@code extensions}
     * ({@code sasl.oauthbearer.extensions} grammar, may be empty or null).
     * No network call.
     */
    public TokenProvider(String config, String extensions) {
        handle = Native.newProvider(config, extensions == null ? "" : extensions);
    }

    /** A token: the cached one, or one minted within {@link #DEFAULT_TIMEOUT}. */
    public Token token() {
        return token(DEFAULT_TIMEOUT);
    }

    /** A token: the cached one, or one minted within {@code timeout} (the calling thread waits). */
    public Token token(Duration timeout) {
        lock.readLock().lock();
        try {
            return Native.token(open(), timeout.toMillis());
        } finally {
            lock.readLock().unlock();
        }
    }

    /** The cache entry's counters and schedule; never waits, never calls STS. */
    public Stats stats() {
        lock.readLock().lock();
        try {
            return new Stats(Native.stats(open()));
        } finally {
            lock.readLock().unlock();
        }
    }

    /** The configured SASL extensions (no token needed). */
    public Map<String, String> extensions() {
        lock.readLock().lock();
        try {
            return pairs(Native.extensions(open()));
        } finally {
            lock.readLock().unlock();
        }
    }

    /** The native library's version. */
    public static String version() {
        return Native.version();
    }

    private long open() {
        if (handle == 0) {
            throw new IllegalStateException("the TokenProvider is closed");
        }
        return handle;
    }

    /** Frees the native handle; idempotent. */
    @Override
    public void close() {
        lock.writeLock().lock();
        try {
            long h = handle;
            handle = 0;
            Native.freeProvider(h);
        } finally {
            lock.writeLock().unlock();
        }
    }

    static Map<String, String> pairs(String[] kv) {
        Map<String, String> m = new LinkedHashMap<>();
        for (int i = 0; i + 1 < kv.length; i += 2) {
            m.put(kv[i], kv[i + 1]);
        }
        return Collections.unmodifiableMap(m);
    }
}
