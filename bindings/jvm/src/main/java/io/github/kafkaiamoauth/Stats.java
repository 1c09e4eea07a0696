package io.github.kafkaiamoauth;

import java.time.Duration;
import java.util.Optional;

/**
 * What a provider's cache entry has done (shared by every provider of the
 * same configuration in the process): the core's {@code Stats}.
 */
public final class Stats {
    private final long mints;
    private final long failures;
    private final IamOAuthException.Kind lastErrorKind;
    private final Duration expiresIn;
    private final Duration refreshIn;
    private final Duration nextAttemptIn;

    Stats(long[] v) {
        mints = v[0];
        failures = v[1];
        lastErrorKind = v[2] < 0 ? null : IamOAuthException.Kind.values()[(int) v[2]];
        expiresIn = v[3] < 0 ? null : Duration.ofMillis(v[3]);
        refreshIn = v[4] < 0 ? null : Duration.ofMillis(v[4]);
        nextAttemptIn = v[5] < 0 ? null : Duration.ofMillis(v[5]);
    }

    /** Tokens STS minted for this configuration in this process. */
    public long mints() {
        return mints;
    }

    /** Mints that failed. */
    public long failures() {
        return failures;
    }

    /** The kind of the most recent failure, kept after later successes. */
    public Optional<IamOAuthException.Kind> lastErrorKind() {
        return Optional.ofNullable(lastErrorKind);
    }

    /** Time until the cached token expires; empty when none is cached. */
    public Optional<Duration> expiresIn() {
        return Optional.ofNullable(expiresIn);
    }

    /** Time until the background refresh is due; empty when no token is cached. */
    public Optional<Duration> refreshIn() {
        return Optional.ofNullable(refreshIn);
    }

    /** After a failure, the time until STS is tried again; empty otherwise. */
    public Optional<Duration> nextAttemptIn() {
        return Optional.ofNullable(nextAttemptIn);
    }

    @Override
    public String toString() {
        return "Stats[mints=" + mints + ", failures=" + failures + ", lastErrorKind=" + lastErrorKind
                + ", expiresIn=" + expiresIn + ", refreshIn=" + refreshIn + ", nextAttemptIn=" + nextAttemptIn + "]";
    }
}
