package io.kafkaiamoauth;

import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Properties;
import org.apache.kafka.clients.CommonClientConfigs;
import org.junit.jupiter.api.Test;

/**
 * A producer, a consumer in a group and an admin client, authenticated only
 * through Kafka's own {@code OAuthBearerLoginCallbackHandler} reading the
 * token file that {@code kafka-iam-oauth serve --token-file} keeps fresh.
 * They run across several token lifetimes (the suite mints 60 s tokens) with
 * the broker's re-authentication on ({@code connections.max.reauth.ms}), so
 * every client must pick up the refreshed file: a client still holding an
 * expired token is refused at its next re-authentication and its requests
 * fail. Every message sent must be consumed, and every admin call succeed.
 */
class TokenFileClientsTest {
    private static String env(String name) {
        return ClientsAcrossLifetimes.env(name);
    }

    /**
     * The whole configuration a Java client needs (README, "Java and other
     * JVM clients"): no code, no native library.
     */
    static Properties clientProperties() {
        String tokenFile = System.getProperty("kio.token.file");
        assertNotNull(tokenFile, "-Dkio.token.file is not set (KIO_TOKEN_FILE)");
        assertTrue(Files.isRegularFile(Path.of(tokenFile)), "no token file at " + tokenFile);
        Properties p = new Properties();
        p.put(CommonClientConfigs.BOOTSTRAP_SERVERS_CONFIG, env("KIO_BOOTSTRAP_SSL"));
        p.put(CommonClientConfigs.SECURITY_PROTOCOL_CONFIG, "SASL_SSL");
        p.put("ssl.truststore.type", "PEM");
        p.put("ssl.truststore.location", env("KIO_CA_PEM"));
        p.put("sasl.mechanism", "OAUTHBEARER");
        p.put("sasl.jaas.config",
                "org.apache.kafka.common.security.oauthbearer.OAuthBearerLoginModule required;");
        p.put("sasl.login.callback.handler.class",
                "org.apache.kafka.common.security.oauthbearer.OAuthBearerLoginCallbackHandler");
        p.put("sasl.oauthbearer.token.endpoint.url", "file://" + tokenFile);
        return p;
    }

    @Test
    void producerConsumerInAGroupAndAdminAcrossTokenLifetimes() throws Exception {
        ClientsAcrossLifetimes.run(TokenFileClientsTest::clientProperties, env("KIO_JVM_GROUP"), "token-file");
    }
}
