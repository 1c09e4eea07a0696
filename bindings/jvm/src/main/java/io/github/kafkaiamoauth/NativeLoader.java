package io.github.kafkaiamoauth;

import java.io.IOException;
import java.io.InputStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.util.Locale;

/**
 * Loads the JNI library once per class loader, as zstd-jni and snappy-java
 * do: the path in the system property {@value #PATH_PROPERTY} if set, else
 * the JAR's {@code /linux/<arch>/libkafka_iam_oauth_jni.so} copied to a
 * private temporary file (mode 0600, deleted once loaded).
 */
final class NativeLoader {
    /** System property naming a library file to load instead of the JAR's. */
    static final String PATH_PROPERTY = "kafka.iam.oauth.library.path";
    static final String LIBRARY = "libkafka_iam_oauth_jni.so";

    private static boolean loaded;

    private NativeLoader() {}

    /** {@code x86_64} or {@code aarch64} for this JVM's {@code os.arch}; null for others. */
    static String arch() {
        String a = System.getProperty("os.arch", "").toLowerCase(Locale.ROOT);
        switch (a) {
            case "amd64":
            case "x86_64":
                return "x86_64";
            case "aarch64":
            case "arm64":
                return "aarch64";
            default:
                return null;
        }
    }

    /** The resource path of this platform's library, or null when the JAR has none for it. */
    static String resource() {
        String os = System.getProperty("os.name", "").toLowerCase(Locale.ROOT);
        String arch = arch();
        return os.startsWith("linux") && arch != null ? "/linux/" + arch + "/" + LIBRARY : null;
    }

    private static String platform() {
        return System.getProperty("os.name") + "/" + System.getProperty("os.arch");
    }

    static synchronized void load() {
        if (loaded) {
            return;
        }
        String override = System.getProperty(PATH_PROPERTY);
        if (override != null && !override.isEmpty()) {
            System.load(Path.of(override).toAbsolutePath().toString());
            loaded = true;
            return;
        }
        String resource = resource();
        InputStream in = resource == null ? null : NativeLoader.class.getResourceAsStream(resource);
        if (in == null) {
            throw new UnsatisfiedLinkError("kafka-iam-oauth has no native library for " + platform()
                    + " in this JAR (it carries linux/x86_64 and linux/aarch64, glibc); build "
                    + LIBRARY + " for this platform and name it with -D" + PATH_PROPERTY + "=/path/to/" + LIBRARY);
        }
        Path tmp = null;
        try (in) {
            tmp = Files.createTempFile("kafka-iam-oauth-", ".so");
            Files.copy(in, tmp, StandardCopyOption.REPLACE_EXISTING);
            System.load(tmp.toAbsolutePath().toString());
            loaded = true;
        } catch (IOException e) {
            UnsatisfiedLinkError err = new UnsatisfiedLinkError("kafka-iam-oauth could not copy " + resource
                    + " to a temporary file in " + System.getProperty("java.io.tmpdir")
                    + " (set -Djava.io.tmpdir or -D" + PATH_PROPERTY + "): " + e);
            err.initCause(e);
            throw err;
        } catch (UnsatisfiedLinkError e) {
            UnsatisfiedLinkError err = new UnsatisfiedLinkError("kafka-iam-oauth could not load " + resource
                    + " on " + platform() + " (the JAR's libraries need glibc; a musl JVM or a noexec "
                    + "temporary directory needs -D" + PATH_PROPERTY + "): " + e.getMessage());
            err.initCause(e);
            throw err;
        } finally {
            if (tmp != null) {
                // Linux keeps a loaded library mapped after its file is gone.
                try {
                    Files.deleteIfExists(tmp);
                } catch (IOException ignored) {
                    // a leftover 0600 file in the temporary directory
                }
            }
        }
    }
}
