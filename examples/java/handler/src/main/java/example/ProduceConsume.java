package example;

import io.github.kafkaiamoauth.IamOAuthLoginCallbackHandler;
import io.github.kafkaiamoauth.TokenProvider;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Properties;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.apache.kafka.clients.consumer.KafkaConsumer;
import org.apache.kafka.clients.producer.KafkaProducer;
import org.apache.kafka.clients.producer.ProducerRecord;
import org.apache.kafka.common.TopicPartition;
import org.apache.kafka.common.serialization.StringDeserializer;
import org.apache.kafka.common.serialization.StringSerializer;

/**
 * Produces three messages and reads them back, authenticated as an AWS IAM
 * principal by {@link IamOAuthLoginCallbackHandler}: the client's
 * configuration is all it takes. Against real AWS: your bootstrap servers,
 * region and audience, no sts_endpoint, no truststore lines.
 */
public final class ProduceConsume {
    private static String env(String name) {
        String v = System.getenv(name);
        if (v == null) {
            throw new IllegalStateException(name + " is not set (the harness's env.sh)");
        }
        return v;
    }

    public static void main(String[] args) throws Exception {
        String config = "region=eu-west-1,audience=" + env("KIO_AUDIENCE") + ",sts_endpoint=" + env("KIO_EMULATOR_URL");
        Properties p = new Properties();
        p.put("bootstrap.servers", env("KIO_BOOTSTRAP_SSL"));
        p.put("security.protocol", "SASL_SSL");
        p.put("ssl.truststore.type", "PEM");
        p.put("ssl.truststore.location", env("KIO_CA_PEM"));
        p.put("sasl.mechanism", "OAUTHBEARER");
        p.put("sasl.login.callback.handler.class", IamOAuthLoginCallbackHandler.class.getName());
        p.put("sasl.jaas.config",
                "org.apache.kafka.common.security.oauthbearer.OAuthBearerLoginModule required config=\"" + config + "\";");

        String topic = env("KIO_TOPIC");
        String run = "java-handler-demo-" + System.currentTimeMillis();
        Properties pp = new Properties();
        pp.putAll(p);
        pp.put("key.serializer", StringSerializer.class.getName());
        pp.put("value.serializer", StringSerializer.class.getName());
        try (KafkaProducer<String, String> producer = new KafkaProducer<>(pp)) {
            for (int i = 1; i <= 3; i++) {
                producer.send(new ProducerRecord<>(topic, run + " message " + i)).get();
            }
        }
        System.out.println("demo-java: the handler's producer sent 3 messages; reading them back:");

        Properties cp = new Properties();
        cp.putAll(p);
        cp.put("key.deserializer", StringDeserializer.class.getName());
        cp.put("value.deserializer", StringDeserializer.class.getName());
        List<String> got = new ArrayList<>();
        try (KafkaConsumer<String, String> consumer = new KafkaConsumer<>(cp)) {
            TopicPartition tp = new TopicPartition(topic, 0);
            consumer.assign(List.of(tp));
            consumer.seekToBeginning(List.of(tp));
            long stop = System.nanoTime() + Duration.ofSeconds(20).toNanos();
            while (got.size() < 3 && System.nanoTime() < stop) {
                for (ConsumerRecord<String, String> r : consumer.poll(Duration.ofMillis(500))) {
                    if (r.value().startsWith(run)) {
                        got.add(r.value());
                        System.out.println("  " + r.value());
                    }
                }
            }
        }
        // Both clients shared one token: the same configuration, one cache entry.
        try (TokenProvider tokens = new TokenProvider(config)) {
            System.out.println("demo-java: STS mints in this JVM: " + tokens.stats().mints());
        }
        if (got.size() != 3) {
            throw new IllegalStateException("expected 3 messages back, got " + got.size());
        }
    }
}
