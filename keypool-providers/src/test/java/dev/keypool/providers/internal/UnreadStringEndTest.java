package dev.keypool.providers.internal;

import static org.assertj.core.api.Assertions.assertThat;

import java.nio.charset.StandardCharsets;
import org.junit.jupiter.api.Test;

/**
 * Regression: Jackson reads a string's characters only when asked for them, so
 * {@link RequestReader#end()} on a string not yet read was just after its opening quote, and
 * {@link RequestReader#raw()} of a string value was {@code "} alone.
 */
class UnreadStringEndTest {

    @Test
    void endAndRaw_ofAStringValueNotYetRead_coverTheWholeString() {
        byte[] body = "{\"tools\":\"caf\u00e9 \\\"x\\\"\",\"s\":\"abc\",\"n\":1}".getBytes(StandardCharsets.UTF_8);
        try (RequestReader reader = RequestReader.object(body, "a test")) {
            assertThat(reader.nextField()).isEqualTo("tools");
            assertThat(reader.raw()).isEqualTo("\"caf\u00e9 \\\"x\\\"\"");
            assertThat(reader.nextField()).isEqualTo("s");
            assertThat(new String(body, reader.start(), reader.end() - reader.start(), StandardCharsets.UTF_8))
                    .isEqualTo("\"abc\"");
            assertThat(reader.text()).isEqualTo("abc");
            assertThat(reader.nextField()).isEqualTo("n");
            assertThat(reader.nextField()).as("the string was skipped whole").isNull();
            reader.end("a test");
        }
    }
}
