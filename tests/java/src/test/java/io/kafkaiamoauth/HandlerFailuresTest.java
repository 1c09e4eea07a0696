package io.kafkaiamoauth;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.github.kafkaiamoauth.IamOAuthException;
import io.github.kafkaiamoauth.Stats;
import io.github.kafkaiamoauth.Token;
import io.github.kafkaiamoauth.TokenProvider;
import java.util.ArrayList;
import java.util.List;
import java.util.Properties;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import javax.security.auth.login.LoginException;
import org.apache.kafka.clients.admin.Admin;
import org.apache.kafka.clients.admin.AdminClientConfig;
import org.apache.kafka.clients.producer.KafkaProducer;
import org.apache.kafka.common.errors.SaslAuthenticationException;
import org.apache.kafka.common.serialization.StringSerializer;
import org.junit.jupiter.api.Test;

/**
 * What a user sees when the handler cannot authenticate, each at once (no
 * token lifetimes to wait): a bad configuration fails the client's
 * construction naming the key; STS refusing the call (AccessDenied, from a
 * private emulator whose policy allows another audience only:
 * KIO_DENY_EMULATOR_URL) fails it with the core's message; an audience the
 * broker does not expect is refused at authentication. Plus
 * {@link TokenProvider} itself.
 */
class HandlerFailuresTest {
    private static String env(String name) {
        return ClientsAcrossLifetimes.env(name);
    }

    private static String base(String emulator) {
        return "region=eu-west-1,sts_endpoint=" + emulator;
    }

    private static Properties producerProperties(String config) {
        Properties p = HandlerClientsTest.handlerProperties(config);
        p.put("key.serializer", StringSerializer.class.getName());
        p.put("value.serializer", StringSerializer.class.getName());
        return p;
    }

    private static List<Throwable> chain(Throwable t) {
        List<Throwable> all = new ArrayList<>();
        for (; t != null && !all.contains(t); t = t.getCause()) {
            all.add(t);
        }
        return all;
    }

    /** The core's error in the chain of a client constructor's exception. */
    private static IamOAuthException constructionFails(String config) {
        Throwable e = assertThrows(Throwable.class, () -> new KafkaProducer<String, String>(producerProperties(config)).close());
        return chain(e).stream().filter(c -> c instanceof IamOAuthException).map(c -> (IamOAuthException) c)
                .findFirst().orElseThrow(() -> new AssertionError("no IamOAuthException in the chain", e));
    }

    @Test
    void missingAudienceFailsClientConstructionNamingTheKey() {
        IamOAuthException e = constructionFails(base(env("KIO_EMULATOR_URL")));
        assertEquals(IamOAuthException.Kind.CONFIG, e.kind());
        assertTrue(e.getMessage().contains("audience"), e.getMessage());
        assertFalse(e.isRetryable());
    }

    @Test
    void badDurationFailsClientConstructionNamingTheKey() {
        IamOAuthException e = constructionFails(base(env("KIO_EMULATOR_URL")) + ",audience=a,duration_seconds=soon");
        assertEquals(IamOAuthException.Kind.CONFIG, e.kind());
        assertTrue(e.getMessage().contains("duration_seconds"), e.getMessage());
    }

    @Test
    void accessDeniedAtStsIsInTheClientsExceptionChainWithTheCoresMessage() {
        String config = base(env("KIO_DENY_EMULATOR_URL")) + ",audience=" + env("KIO_AUDIENCE");
        // What the core says, through TokenProvider...
        IamOAuthException core;
        try (TokenProvider p = new TokenProvider(config)) {
            core = assertThrows(IamOAuthException.class, p::token);
            assertEquals(IamOAuthException.Kind.STS, core.kind());
            assertEquals("AccessDenied", core.awsCode());
            assertFalse(core.isRetryable());
            Stats s = p.stats();
            assertEquals(IamOAuthException.Kind.STS, s.lastErrorKind().orElseThrow());
        }
        // ...is what the client's constructor fails with (the login's error).
        Throwable e = assertThrows(Throwable.class, () -> new KafkaProducer<String, String>(producerProperties(config)).close());
        LoginException login = chain(e).stream().filter(c -> c instanceof LoginException).map(c -> (LoginException) c)
                .findFirst().orElseThrow(() -> new AssertionError("no LoginException in the chain", e));
        // The same text but for the negative cache's note on the next attempt.
        String stem = core.getMessage().replaceAll(" \\((failed \\d+ time|the next attempt).*$", "");
        assertTrue(stem.contains("AccessDenied") && stem.contains("sts:GetWebIdentityToken"), stem);
        assertTrue(login.getMessage().startsWith(stem), login.getMessage() + " does not start with " + stem);
        System.out.println("java: AccessDenied at client construction: " + login.getMessage());
    }

    @Test
    void anAudienceTheBrokerDoesNotExpectIsRefusedAtAuthentication() throws Exception {
        String config = base(env("KIO_EMULATOR_URL")) + ",audience=not-" + env("KIO_AUDIENCE") + ",duration_seconds=900";
        Properties p = HandlerClientsTest.handlerProperties(config);
        p.put(AdminClientConfig.REQUEST_TIMEOUT_MS_CONFIG, 10_000);
        p.put(AdminClientConfig.DEFAULT_API_TIMEOUT_MS_CONFIG, 20_000);
        try (Admin admin = Admin.create(p)) {
            ExecutionException e = assertThrows(ExecutionException.class,
                    () -> admin.describeCluster().clusterId().get(30, TimeUnit.SECONDS));
            assertTrue(chain(e).stream().anyMatch(c -> c instanceof SaslAuthenticationException), e.toString());
            System.out.println("java: wrong audience refused by the broker: " + e.getCause());
        }
    }

    @Test
    void theConfigurationMayComeFromClientPropertiesInsteadOfJaasOptions() throws Exception {
        String config = base(env("KIO_EMULATOR_URL")) + ",audience=" + env("KIO_AUDIENCE") + ",duration_seconds=900";
        Properties p = HandlerClientsTest.handlerProperties(config);
        p.put("sasl.jaas.config", "org.apache.kafka.common.security.oauthbearer.OAuthBearerLoginModule required;");
        p.put("kafka.iam.oauth.config", config);
        p.put(AdminClientConfig.REQUEST_TIMEOUT_MS_CONFIG, 10_000);
        p.put(AdminClientConfig.DEFAULT_API_TIMEOUT_MS_CONFIG, 20_000);
        try (Admin admin = Admin.create(p)) {
            assertNotNull(admin.describeCluster().clusterId().get(30, TimeUnit.SECONDS));
        }
        // Neither: the handler says where the configuration goes.
        p.remove("kafka.iam.oauth.config");
        Throwable e = assertThrows(Throwable.class, () -> Admin.create(p).close());
        assertTrue(chain(e).stream().anyMatch(c -> String.valueOf(c.getMessage()).contains("kafka.iam.oauth.config")),
                e.toString());
    }

    @Test
    void tokenProviderHandsOutTheCachedTokenAndStats() {
        String config = base(env("KIO_EMULATOR_URL")) + ",audience=" + env("KIO_AUDIENCE") + ",duration_seconds=900";
        try (TokenProvider p = new TokenProvider(config, "logicalCluster=lkc-java")) {
            Token t = p.token();
            assertEquals(env("KIO_PRINCIPAL"), t.principal());
            assertEquals("lkc-java", t.extensions().get("logicalCluster"));
            assertTrue(t.expiresAtMs() > System.currentTimeMillis() + 800_000, t.toString());
            assertTrue(t.refreshAtMs() < t.expiresAtMs());
            assertFalse(t.toString().contains(t.value()), "toString shows the JWT");
            assertEquals(t.value(), p.token().value(), "a second call is the cached token");
            Stats s = p.stats();
            assertTrue(s.mints() >= 1, s.toString());
            assertTrue(s.expiresIn().isPresent() && s.refreshIn().isPresent(), s.toString());
            assertNotNull(TokenProvider.version());
            p.close();
            p.close(); // idempotent
            assertThrows(IllegalStateException.class, p::token);
        }
    }
}
