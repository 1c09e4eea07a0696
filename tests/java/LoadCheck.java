import io.github.kafkaiamoauth.Token;
import io.github.kafkaiamoauth.TokenProvider;
import java.nio.file.Files;
import java.nio.file.Path;

/**
 * Run in a fresh JVM whose class path is the JAR alone and whose
 * java.library.path names nothing: the native library must come out of the
 * JAR (a private temporary file, deleted once mapped). Prints the library's
 * version, os.arch and the mapping; exits non-zero otherwise. Given a
 * configuration (make test-dist, the arm64 JVM under qemu), a TokenProvider
 * also mints a token and prints its principal.
 *
 *   java -cp JAR LoadCheck.java [CONFIG]
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
        System.out.println("load-check: version " + version + " (" + System.getProperty("os.arch") + ") loaded from " + mapped);
        if (args.length > 0) {
            try (TokenProvider provider = new TokenProvider(args[0])) {
                Token token = provider.token();
                long left = (token.expiresAtMs() - System.currentTimeMillis()) / 1000;
                if (token.value().split("\\.", -1).length != 3 || left <= 0) {
                    System.err.println("load-check: not a live JWT (expires in " + left + " s)");
                    System.exit(1);
                }
                System.out.println("load-check: token: " + token.principal() + " expires in " + left + " s");
            }
        }
    }
}
