package io.kafkaiamoauth;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.time.Duration;
import java.util.ArrayList;
import java.util.Collections;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Properties;
import java.util.Set;
import java.util.UUID;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicReference;
import java.util.function.Supplier;
import org.apache.kafka.clients.admin.Admin;
import org.apache.kafka.clients.admin.TopicDescription;
import org.apache.kafka.clients.consumer.ConsumerConfig;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.apache.kafka.clients.consumer.KafkaConsumer;
import org.apache.kafka.clients.producer.KafkaProducer;
import org.apache.kafka.clients.producer.ProducerConfig;
import org.apache.kafka.clients.producer.ProducerRecord;
import org.apache.kafka.common.serialization.StringDeserializer;
import org.apache.kafka.common.serialization.StringSerializer;


/**
 * The run both Java routes are tested by: a producer, a consumer in a group
 * and an admin client, across several token lifetimes (the suite mints
 * 60 s tokens) with the broker's re-authentication on
 * ({@code connections.max.reauth.ms}), so every client must pick up
 * refreshed tokens: a client still holding an expired token is refused at
 * its next re-authentication and its requests fail. Every message sent must
 * be consumed in the group, and every admin call succeed.
 */
final class ClientsAcrossLifetimes {
    private ClientsAcrossLifetimes() {}

    static String env(String name) {
        String v = System.getenv(name);
        assertNotNull(v, name + " is not set (source the harness's env.sh; make test-java does)");
        return v;
    }

    /** How long the clients run: at least three 60 s token lifetimes. */
    static final Duration RUN = Duration.ofSeconds(
            Long.parseLong(System.getenv().getOrDefault("KIO_JAVA_RUN_SECONDS", "190")));
    /** Between two messages. */
    private static final Duration SEND_EVERY = Duration.ofSeconds(1);
    /** A send, an admin call, or the consumer catching up after the run. */
    static final Duration CALL_BOUND = Duration.ofSeconds(30);
    /**
     * Joining the group: a member another run left behind holds the
     * partition until the broker drops it (session.timeout.ms, 45 s).
     */
    private static final Duration JOIN_BOUND = Duration.ofSeconds(90);

    /** Runs the three clients, each configured by {@code base} plus its own settings, the consumer in {@code group}. */
    static void run(Supplier<Properties> base, String group, String label) throws Exception {
        String topic = env("KIO_JVM_TOPIC");
        String run = label + "-" + UUID.randomUUID();

        Properties pp = base.get();
        pp.put(ProducerConfig.KEY_SERIALIZER_CLASS_CONFIG, StringSerializer.class.getName());
        pp.put(ProducerConfig.VALUE_SERIALIZER_CLASS_CONFIG, StringSerializer.class.getName());
        pp.put(ProducerConfig.ACKS_CONFIG, "all");
        pp.put(ProducerConfig.DELIVERY_TIMEOUT_MS_CONFIG, (int) CALL_BOUND.toMillis());
        pp.put(ProducerConfig.REQUEST_TIMEOUT_MS_CONFIG, 10_000);

        Properties cp = base.get();
        cp.put(ConsumerConfig.GROUP_ID_CONFIG, group);
        cp.put(ConsumerConfig.KEY_DESERIALIZER_CLASS_CONFIG, StringDeserializer.class.getName());
        cp.put(ConsumerConfig.VALUE_DESERIALIZER_CLASS_CONFIG, StringDeserializer.class.getName());
        // Only what is produced from now on: the run's messages are new.
        cp.put(ConsumerConfig.AUTO_OFFSET_RESET_CONFIG, "latest");

        Set<String> sent = Collections.synchronizedSet(new HashSet<>());
        Set<String> received = Collections.synchronizedSet(new HashSet<>());
        AtomicReference<Throwable> consumerError = new AtomicReference<>();
        List<String> adminErrors = new ArrayList<>();
        int adminCalls = 0;

        try (Admin admin = Admin.create(base.get());
                KafkaProducer<String, String> producer = new KafkaProducer<>(pp);
                KafkaConsumer<String, String> consumer = new KafkaConsumer<>(cp)) {
            // The consumer polls on its own thread (KafkaConsumer is not
            // thread-safe: only that thread touches it until it is done);
            // it joins the group before anything is sent.
            CountDownLatch joined = new CountDownLatch(1);
            Thread poller = new Thread(() -> {
                try {
                    consumer.subscribe(List.of(topic));
                    long stopAt = System.nanoTime() + JOIN_BOUND.plus(RUN).plus(CALL_BOUND).toNanos();
                    while (System.nanoTime() < stopAt && !Thread.currentThread().isInterrupted()) {
                        for (ConsumerRecord<String, String> r : consumer.poll(Duration.ofMillis(500))) {
                            if (r.value() != null && r.value().startsWith(run)) {
                                received.add(r.value());
                            }
                        }
                        if (!consumer.assignment().isEmpty()) {
                            joined.countDown();
                        }
                        if (sent.contains(run + "-end") && received.containsAll(sent)) {
                            break;
                        }
                    }
                    consumer.commitSync(CALL_BOUND);
                } catch (org.apache.kafka.common.errors.WakeupException e) {
                    // stopped by the test
                } catch (Throwable e) {
                    consumerError.set(e);
                } finally {
                    joined.countDown();
                }
            }, "consumer");
            poller.start();
            assertTrue(joined.await(JOIN_BOUND.toSeconds(), TimeUnit.SECONDS),
                    "the consumer did not join group " + group + " within " + JOIN_BOUND);
            assertEquals(null, consumerError.get(), "the consumer failed before joining the group");

            long start = System.nanoTime();
            long nextAdmin = start;
            int i = 0;
            while (System.nanoTime() - start < RUN.toNanos()) {
                String value = run + "-" + i++;
                producer.send(new ProducerRecord<>(topic, value)).get(CALL_BOUND.toMillis(), TimeUnit.MILLISECONDS);
                sent.add(value);
                if (System.nanoTime() >= nextAdmin) {
                    adminCalls++;
                    try {
                        Map<String, TopicDescription> d = admin.describeTopics(List.of(topic))
                                .allTopicNames().get(CALL_BOUND.toMillis(), TimeUnit.MILLISECONDS);
                        assertEquals(1, d.get(topic).partitions().size());
                    } catch (ExecutionException e) {
                        adminErrors.add(e.getCause().toString());
                    }
                    nextAdmin += Duration.ofSeconds(10).toNanos();
                }
                Thread.sleep(SEND_EVERY.toMillis());
            }
            producer.send(new ProducerRecord<>(topic, run + "-end")).get(CALL_BOUND.toMillis(), TimeUnit.MILLISECONDS);
            sent.add(run + "-end");
            poller.join(CALL_BOUND.plus(Duration.ofSeconds(5)).toMillis());
            if (poller.isAlive()) {
                consumer.wakeup();
                poller.join();
            }
        }
        assertEquals(null, consumerError.get(), "the consumer failed");
        assertEquals(List.of(), adminErrors, "admin calls failed");
        assertTrue(adminCalls >= RUN.toSeconds() / 10, "admin calls made: " + adminCalls);
        Set<String> missing = new HashSet<>(sent);
        missing.removeAll(received);
        assertEquals(Set.of(), missing, "messages sent but not consumed in the group");
        System.out.printf("java: %s: %d messages produced and consumed in group %s, %d admin calls, over %d s%n",
                label, sent.size(), group, adminCalls, RUN.toSeconds());
    }
}
