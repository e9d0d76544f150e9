package dev.keypool.providers.internal;

import static org.assertj.core.api.Assertions.assertThat;

import java.nio.charset.StandardCharsets;
import org.junit.jupiter.api.Test;

class BodyEditsTest {

    @Test
    void noEdit_isTheSameArray() {
        byte[] body = "{\"a\":1}".getBytes(StandardCharsets.UTF_8);

        assertThat(new BodyEdits().apply(body)).isSameAs(body);
        assertThat(new BodyEdits().isEmpty()).isTrue();
    }

    @Test
    void edits_applyInTheBodysOrder_whateverTheOrderTheyWereGiven() {
        byte[] body = "{\"model\":\"auto\",\"x\":1}".getBytes(StandardCharsets.UTF_8);

        BodyEdits edits = new BodyEdits().insert(21, ",\"late\":2").replace(9, 15, "\"gpt-4o\"")
                .merge(new BodyEdits().insert(1, "\"first\":0,"));

        assertThat(new String(edits.apply(body), StandardCharsets.UTF_8))
                .isEqualTo("{\"first\":0,\"model\":\"gpt-4o\",\"x\":1,\"late\":2}");
        assertThat(new String(body, StandardCharsets.UTF_8)).as("the caller's bytes are never changed")
                .isEqualTo("{\"model\":\"auto\",\"x\":1}");
    }

    @Test
    void edits_countBytes_notCharacters() {
        byte[] body = "{\"t\":\"café\",\"m\":\"a\"}".getBytes(StandardCharsets.UTF_8);

        // "café" is 5 bytes: the model's value starts at byte 17
        assertThat(new String(new BodyEdits().replace(17, 20, "\"ü\"").apply(body), StandardCharsets.UTF_8))
                .isEqualTo("{\"t\":\"café\",\"m\":\"ü\"}");
    }

    @Test
    void quoted_escapesWhatJsonRequires() {
        assertThat(BodyEdits.quoted("gpt-4o")).isEqualTo("\"gpt-4o\"");
        assertThat(BodyEdits.quoted("a\"b\\c\nd\re\tf\u0001g\u00e9")).isEqualTo("\"a\\\"b\\\\c\\nd\\re\\tf\\u0001g\u00e9\"");
        assertThat(Json.parseOrMissing(BodyEdits.quoted("x\u001fy\"z")).asText()).isEqualTo("x\u001fy\"z");
    }
}
