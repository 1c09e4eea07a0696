import io.github.kafkaiamoauth.TokenProvider;
import java.nio.file.Files;
import java.nio.file.Path;

/**
 * Run by tests/java/run.sh in a fresh JVM whose class path is the JAR alone
 * and whose java.library.path names nothing: the native library must come
 * out of the JAR (a private temporary file, deleted once mapped). Prints
 * the library's version and the mapping; exits non-zero otherwise.
 */
public class LoadCheck {
    public static void main(String[] args) throws Exception {
        String version = TokenProvider.version();
        String mapped = Files.readAllLines(Path.of("/proc/self/maps")).stream()
                .filter(l -> l.contains("kafka-iam-oauth-") && l.contains(".so"))
                .map(l -> l.substring(l.indexOf('/')))
                .findFirst().orElse(null);
        if (mapped == null || !mapped.endsWith("(deleted)")) {
            System.err.println("load-check: the library is not mapped from a deleted temporary file: " + mapped);
            System.exit(1);
        }
        System.out.println("load-check: version " + version + " loaded from " + mapped);
    }
}
