package io.kafkaiamoauth;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.github.kafkaiamoauth.IamOAuthLoginCallbackHandler;
import io.github.kafkaiamoauth.Stats;
import io.github.kafkaiamoauth.TokenProvider;
import java.util.Properties;
import org.apache.kafka.clients.CommonClientConfigs;
import org.junit.jupiter.api.Test;

/**
 * The same producer, consumer in a group and admin client as
 * {@link TokenFileClientsTest}, authenticated by our
 * {@link IamOAuthLoginCallbackHandler} (the JAR, the native core inside this
 * JVM): one property names the handler, the JAAS options carry the
 * configuration. The three clients share the core's cache: this JVM makes
 * one STS call per refresh for them all, counted by the core's stats.
 */
class HandlerClientsTest {
    /** The configuration every client of this JVM gives the handler (60 s tokens: KIO_HANDLER_CONFIG). */
    static String config() {
        return ClientsAcrossLifetimes.env("KIO_HANDLER_CONFIG");
    }

    /** A client's whole configuration for the handler route (docs/java.md). */
    static Properties handlerProperties(String config) {
        Properties p = new Properties();
        p.put(CommonClientConfigs.BOOTSTRAP_SERVERS_CONFIG, ClientsAcrossLifetimes.env("KIO_BOOTSTRAP_SSL"));
        p.put(CommonClientConfigs.SECURITY_PROTOCOL_CONFIG, "SASL_SSL");
        p.put("ssl.truststore.type", "PEM");
        p.put("ssl.truststore.location", ClientsAcrossLifetimes.env("KIO_CA_PEM"));
        p.put("sasl.mechanism", "OAUTHBEARER");
        p.put("sasl.login.callback.handler.class", IamOAuthLoginCallbackHandler.class.getName());
        p.put("sasl.jaas.config", "org.apache.kafka.common.security.oauthbearer.OAuthBearerLoginModule required config=\""
                + config + "\";");
        return p;
    }

    @Test
    void producerConsumerInAGroupAndAdminAcrossTokenLifetimes() throws Exception {
        String config = config();
        // The same configuration, so the same cache entry as the handlers'.
        try (TokenProvider p = new TokenProvider(config)) {
            ClientsAcrossLifetimes.run(() -> handlerProperties(config),
                    ClientsAcrossLifetimes.env("KIO_JVM_GROUP") + "-handler", "handler");
            Stats s = p.stats();
            long lifetime = Long.parseLong(config.replaceAll(".*duration_seconds=(\\d+).*", "$1"));
            long runS = ClientsAcrossLifetimes.RUN.toSeconds();
            // At least one per lifetime; at most one per refresh (at 50-60 %
            // of a lifetime) plus the first: not one per client.
            long most = runS / (lifetime / 2) + 3;
            System.out.printf("java: handler: this JVM's STS mints for the 3 clients: %d over %d s (%d s tokens), failures %d%n",
                    s.mints(), runS, lifetime, s.failures());
            assertTrue(s.mints() >= runS / lifetime, "mints " + s.mints() + " < one per lifetime: " + s);
            assertTrue(s.mints() <= most, "mints " + s.mints() + " > " + most + " (one per refresh): " + s);
            assertEquals(0, s.failures(), "failed mints: " + s);
        }
    }
}
