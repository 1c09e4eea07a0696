import io.github.kafkaiamoauth.IamOAuthLoginCallbackHandler;
import io.github.kafkaiamoauth.TokenProvider;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Properties;
import javax.security.auth.callback.Callback;
import javax.security.auth.login.AppConfigurationEntry;
import org.apache.kafka.clients.producer.KafkaProducer;
import org.apache.kafka.clients.producer.ProducerConfig;
import org.apache.kafka.common.security.auth.AuthenticateCallbackHandler;
import org.apache.kafka.common.security.oauthbearer.OAuthBearerLoginCallbackHandler;
import org.apache.kafka.common.security.oauthbearer.OAuthBearerLoginModule;
import org.apache.kafka.common.security.oauthbearer.OAuthBearerTokenCallback;
import org.apache.kafka.common.serialization.StringSerializer;

/**
 * Not a test: the figures of docs/java.md's "Measured", side by side in one
 * JVM (tests/java/bench/run.sh):
 *   handle    µs per handle() of an OAuthBearerTokenCallback: our handler
 *             (a cached token) vs Kafka's own handler reading the token file
 *   clients   STS mints for N producers with the handler in this JVM
 *   rss       this JVM's RSS after one connected producer (argument: handler|file)
 */
public class HandlerBench {
    static String env(String n) {
        return System.getenv(n);
    }

    static Properties common() {
        Properties p = new Properties();
        p.put("bootstrap.servers", env("KIO_BOOTSTRAP_SSL"));
        p.put("security.protocol", "SASL_SSL");
        p.put("ssl.truststore.type", "PEM");
        p.put("ssl.truststore.location", env("KIO_CA_PEM"));
        p.put("sasl.mechanism", "OAUTHBEARER");
        p.put("key.serializer", StringSerializer.class.getName());
        p.put("value.serializer", StringSerializer.class.getName());
        return p;
    }

    static Properties handlerProps(String config) {
        Properties p = common();
        p.put("sasl.login.callback.handler.class", IamOAuthLoginCallbackHandler.class.getName());
        p.put("sasl.jaas.config", OAuthBearerLoginModule.class.getName() + " required config=\"" + config + "\";");
        return p;
    }

    static Properties fileProps(String file) {
        Properties p = common();
        p.put("sasl.login.callback.handler.class", OAuthBearerLoginCallbackHandler.class.getName());
        p.put("sasl.jaas.config", OAuthBearerLoginModule.class.getName() + " required;");
        p.put("sasl.oauthbearer.token.endpoint.url", "file://" + file);
        return p;
    }

    static double perCallMicros(AuthenticateCallbackHandler h, int n) throws Exception {
        for (int i = 0; i < n / 10; i++) {
            h.handle(new Callback[] {new OAuthBearerTokenCallback()});
        }
        long t0 = System.nanoTime();
        for (int i = 0; i < n; i++) {
            OAuthBearerTokenCallback cb = new OAuthBearerTokenCallback();
            h.handle(new Callback[] {cb});
            if (cb.token() == null) {
                throw new IllegalStateException("no token: " + cb.errorDescription());
            }
        }
        return (System.nanoTime() - t0) / 1e3 / n;
    }

    static AuthenticateCallbackHandler configured(AuthenticateCallbackHandler h, Properties p, Map<String, String> options) {
        Map<String, Object> all = new java.util.HashMap<>(new ProducerConfig(p).values());
        p.forEach((k, v) -> all.putIfAbsent(k.toString(), v));
        h.configure(all, "OAUTHBEARER", List.of(new AppConfigurationEntry(OAuthBearerLoginModule.class.getName(),
                AppConfigurationEntry.LoginModuleControlFlag.REQUIRED, options)));
        return h;
    }

    static long rssKiB() throws Exception {
        System.gc();
        return Files.readAllLines(Path.of("/proc/self/status")).stream().filter(l -> l.startsWith("VmRSS:"))
                .map(l -> Long.parseLong(l.replaceAll("\\D", ""))).findFirst().orElse(-1L);
    }

    public static void main(String[] args) throws Exception {
        String config = env("KIO_HANDLER_CONFIG");
        String file = env("KIO_TOKEN_FILE");
        switch (args[0]) {
            case "handle": {
                int n = Integer.parseInt(args[1]);
                AuthenticateCallbackHandler ours = configured(new IamOAuthLoginCallbackHandler(), handlerProps(config),
                        Map.of("config", config));
                AuthenticateCallbackHandler kafkas = configured(new OAuthBearerLoginCallbackHandler(), fileProps(file), Map.of());
                for (int round = 1; round <= 5; round++) {
                    double a = perCallMicros(ours, n);
                    double b = perCallMicros(kafkas, n);
                    System.out.printf("bench: round %d: handle(): our handler (cached token) %.2f µs/call, Kafka's handler reading the token file %.2f µs/call (ours/Kafka's %.2f)%n",
                            round, a, b, a / b);
                }
                ours.close();
                kafkas.close();
                break;
            }
            case "clients": {
                int n = Integer.parseInt(args[1]);
                List<KafkaProducer<String, String>> ps = new ArrayList<>();
                try (TokenProvider tp = new TokenProvider(config)) {
                    long before = tp.stats().mints();
                    for (int i = 0; i < n; i++) {
                        KafkaProducer<String, String> p = new KafkaProducer<>(handlerProps(config));
                        p.partitionsFor(env("KIO_TOPIC"));
                        ps.add(p);
                    }
                    System.out.printf("bench: %d producers with the handler in one JVM, each connected: %d STS mint(s)%n",
                            n, tp.stats().mints() - before);
                }
                ps.forEach(KafkaProducer::close);
                break;
            }
            case "rss": {
                Properties p = args[1].equals("handler") ? handlerProps(config) : fileProps(file);
                try (KafkaProducer<String, String> pr = new KafkaProducer<>(p)) {
                    pr.partitionsFor(env("KIO_TOPIC"));
                    Thread.sleep(2000);
                    System.out.printf("bench: JVM RSS with one connected producer, %s route: %d KiB%n", args[1], rssKiB());
                }
                break;
            }
            default:
                throw new IllegalArgumentException(args[0]);
        }
    }
}
