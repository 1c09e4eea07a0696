package io.github.kafkaiamoauth;

import java.util.List;
import java.util.Map;
import java.util.Set;
import javax.security.auth.callback.Callback;
import javax.security.auth.callback.UnsupportedCallbackException;
import javax.security.auth.login.AppConfigurationEntry;
import org.apache.kafka.common.security.auth.AuthenticateCallbackHandler;
import org.apache.kafka.common.security.auth.SaslExtensions;
import org.apache.kafka.common.security.auth.SaslExtensionsCallback;
import org.apache.kafka.common.security.oauthbearer.OAuthBearerLoginModule;
import org.apache.kafka.common.security.oauthbearer.OAuthBearerToken;
import org.apache.kafka.common.security.oauthbearer.OAuthBearerTokenCallback;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Kafka's login callback handler for SASL/OAUTHBEARER with AWS STS
 * {@code GetWebIdentityToken} tokens, on the kafka-iam-oauth core (the same
 * configuration keys, cache and refresh as the C, Python and Go front
 * doors). One client property names it:
 *
 * <pre>
 * security.protocol=SASL_SSL
 * sasl.mechanism=OAUTHBEARER
 * sasl.login.callback.handler.class=io.github.kafkaiamoauth.IamOAuthLoginCallbackHandler
 * sasl.jaas.config=org.apache.kafka.common.security.oauthbearer.OAuthBearerLoginModule required \
 *     config="region=eu-west-1,audience=my-kafka.example.com" extensions="logicalCluster=lkc-1";
 * </pre>
 *
 * The configuration comes from the JAAS options {@code config} and
 * {@code extensions}, else from the client properties
 * {@value #CONFIG_PROPERTY} and {@value #EXTENSIONS_PROPERTY}. A bad
 * configuration fails in {@link #configure}, so at client construction,
 * with the core's message naming the key. Each login (and Kafka's login
 * refresh) gets the core's cached token, which the core refreshes ahead of
 * expiry: all clients of a JVM with one configuration share one STS call
 * per refresh. A failure to get a token becomes the login's error with the
 * core's message ({@link OAuthBearerTokenCallback#error}); Kafka's refresh
 * thread retries it, and the core keeps serving a still-valid token meanwhile.
 */
public class IamOAuthLoginCallbackHandler implements AuthenticateCallbackHandler {
    /** Client property holding the configuration when the JAAS options have no {@code config}. */
    public static final String CONFIG_PROPERTY = "kafka.iam.oauth.config";
    /** Client property holding the SASL extensions when the JAAS options have no {@code extensions}. */
    public static final String EXTENSIONS_PROPERTY = "kafka.iam.oauth.extensions";
    /** JAAS option holding the configuration. */
    public static final String CONFIG_OPTION = "config";
    /** JAAS option holding the SASL extensions. */
    public static final String EXTENSIONS_OPTION = "extensions";

    private static final Logger log = LoggerFactory.getLogger(IamOAuthLoginCallbackHandler.class);

    private volatile TokenProvider provider;

    @Override
    public void configure(Map<String, ?> configs, String saslMechanism, List<AppConfigurationEntry> jaasConfigEntries) {
        if (!OAuthBearerLoginModule.OAUTHBEARER_MECHANISM.equals(saslMechanism)) {
            throw new IllegalArgumentException("IamOAuthLoginCallbackHandler serves sasl.mechanism=OAUTHBEARER, not " + saslMechanism);
        }
        String config = null;
        String extensions = null;
        for (AppConfigurationEntry e : jaasConfigEntries) {
            Object c = e.getOptions().get(CONFIG_OPTION);
            Object x = e.getOptions().get(EXTENSIONS_OPTION);
            if (c != null) {
                config = c.toString();
            }
            if (x != null) {
                extensions = x.toString();
            }
        }
        if (config == null && configs.get(CONFIG_PROPERTY) != null) {
            config = configs.get(CONFIG_PROPERTY).toString();
        }
        if (extensions == null && configs.get(EXTENSIONS_PROPERTY) != null) {
            extensions = configs.get(EXTENSIONS_PROPERTY).toString();
        }
        if (config == null) {
            throw new IllegalArgumentException("IamOAuthLoginCallbackHandler has no configuration: give "
                    + "OAuthBearerLoginModule the option config=\"region=...,audience=...\" in sasl.jaas.config, "
                    + "or set the client property " + CONFIG_PROPERTY);
        }
        // The core parses and checks it (IamOAuthException, kind CONFIG, naming the key).
        provider = new TokenProvider(config, extensions);
    }

    @Override
    public void handle(Callback[] callbacks) throws UnsupportedCallbackException {
        TokenProvider p = provider;
        if (p == null) {
            throw new IllegalStateException("IamOAuthLoginCallbackHandler is not configured");
        }
        for (Callback cb : callbacks) {
            if (cb instanceof OAuthBearerTokenCallback) {
                handleToken(p, (OAuthBearerTokenCallback) cb);
            } else if (cb instanceof SaslExtensionsCallback) {
                ((SaslExtensionsCallback) cb).extensions(new SaslExtensions(p.extensions()));
            } else {
                throw new UnsupportedCallbackException(cb);
            }
        }
    }

    private static void handleToken(TokenProvider p, OAuthBearerTokenCallback cb) {
        try {
            Token t = p.token();
            cb.token(new BearerToken(t));
            if (log.isInfoEnabled()) {
                // One line per login (Kafka's refresh), never the token.
                Stats s = p.stats();
                log.info("kafka-iam-oauth: token for principal {} valid until {}; this JVM's STS mints for this configuration: {}, failures: {}",
                        t.principal(), java.time.Instant.ofEpochMilli(t.expiresAtMs()), s.mints(), s.failures());
            }
        } catch (IamOAuthException e) {
            // Kafka turns this into the LoginException of client construction,
            // or retries it on its refresh thread; the message is the core's.
            log.warn("kafka-iam-oauth: no token ({}): {}", e.kind(), e.getMessage());
            String code = e.awsCode() != null ? e.awsCode() : e.kind().name().toLowerCase(java.util.Locale.ROOT);
            cb.error(code, e.getMessage(), null);
        }
    }

    /** The provider this handler configured (its stats are the JVM's for this configuration), or null before {@link #configure}. */
    public TokenProvider provider() {
        return provider;
    }

    @Override
    public void close() {
        TokenProvider p = provider;
        provider = null;
        if (p != null) {
            p.close();
        }
    }

    /** Kafka's view of a core token. */
    private static final class BearerToken implements OAuthBearerToken {
        private final Token token;

        BearerToken(Token token) {
            this.token = token;
        }

        @Override
        public String value() {
            return token.value();
        }

        @Override
        public Set<String> scope() {
            return Set.of();
        }

        @Override
        public long lifetimeMs() {
            return token.expiresAtMs();
        }

        @Override
        public String principalName() {
            return token.principal();
        }

        @Override
        public Long startTimeMs() {
            return token.mintedAtMs();
        }

        @Override
        public String toString() {
            return token.toString();
        }
    }
}
