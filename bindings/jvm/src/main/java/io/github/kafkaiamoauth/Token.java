package io.github.kafkaiamoauth;

import java.util.Map;

/**
 * A token from the core's cache: the JWT (a secret: {@link #toString()}
 * never shows it), its expiry and start in local epoch milliseconds, the
 * Kafka principal (the configured {@code principal_claim}, {@code sub} by
 * default) and the configured SASL extensions.
 */
public final class Token {
    private final String value;
    private final long expiresAtMs;
    private final String principal;
    private final long mintedAtMs;
    private final long refreshAtMs;
    private final Map<String, String> extensions;

    /** Made by the native library; extensions as key, value, key, value... */
    Token(String value, long expiresAtMs, String principal, long mintedAtMs, long refreshAtMs, String[] extensions) {
        this.value = value;
        this.expiresAtMs = expiresAtMs;
        this.principal = principal;
        this.mintedAtMs = mintedAtMs;
        this.refreshAtMs = refreshAtMs;
        this.extensions = TokenProvider.pairs(extensions);
    }

    /** The JWT. Treat it as a secret. */
    public String value() {
        return value;
    }

    /** Expiry, epoch milliseconds (local clock): Kafka's {@code lifetimeMs}. */
    public long expiresAtMs() {
        return expiresAtMs;
    }

    /** The Kafka principal name: the configured claim of the token. */
    public String principal() {
        return principal;
    }

    /** When this process received the token, epoch milliseconds: Kafka's {@code startTimeMs}. */
    public long mintedAtMs() {
        return mintedAtMs;
    }

    /** When the core refreshes this token in the background, epoch milliseconds. */
    public long refreshAtMs() {
        return refreshAtMs;
    }

    /** The SASL extensions to send with the token. */
    public Map<String, String> extensions() {
        return extensions;
    }

    @Override
    public String toString() {
        return "Token[principal=" + principal + ", expiresAtMs=" + expiresAtMs + ", value=<redacted>]";
    }
}
