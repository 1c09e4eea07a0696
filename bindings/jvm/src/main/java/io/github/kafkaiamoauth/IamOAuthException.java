package io.github.kafkaiamoauth;

/**
 * A failure reported by the kafka-iam-oauth core: its {@link Kind}, the AWS
 * error code for STS errors, whether trying again later may succeed, and
 * the core's message (which names the config key for {@link Kind#CONFIG}).
 * Messages never contain a token or a secret.
 */
public class IamOAuthException extends RuntimeException {
    private static final long serialVersionUID = 1L;

    /** The core's error kinds (src/error.rs {@code ErrorKind}), in its order. */
    public enum Kind {
        /** An argument was null or invalid. */
        INVALID_ARGUMENT,
        /** The configuration string is invalid; the message names the key. */
        CONFIG,
        /** No AWS credentials could be found or used. */
        CREDENTIALS,
        /** AWS STS answered with an error (see {@link #awsCode()}). */
        STS,
        /** No token could be had in time. */
        TIMEOUT,
        /** A bug: a panic was caught in the native library. */
        INTERNAL
    }

    private final Kind kind;
    private final String awsCode;
    private final boolean retryable;

    /** Made by the native library. */
    IamOAuthException(String kind, String awsCode, boolean retryable, String message) {
        super(message);
        this.kind = Kind.valueOf(kind);
        this.awsCode = awsCode;
        this.retryable = retryable;
    }

    /** The kind of failure. */
    public Kind kind() {
        return kind;
    }

    /** The AWS error code (for example {@code AccessDenied}) for STS errors, else null. */
    public String awsCode() {
        return awsCode;
    }

    /** Whether trying again later may succeed (throttling, 5xx, timeouts). */
    public boolean isRetryable() {
        return retryable;
    }
}
