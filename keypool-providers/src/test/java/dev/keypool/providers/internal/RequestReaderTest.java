package dev.keypool.providers.internal;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.catchThrowableOfType;

import com.fasterxml.jackson.core.JsonToken;
import com.knuddels.jtokkit.Encodings;
import com.knuddels.jtokkit.api.Encoding;
import com.knuddels.jtokkit.api.ModelType;
import dev.keypool.config.Provider;
import dev.keypool.providers.relay.RequestRefused;
import java.nio.charset.StandardCharsets;
import java.util.List;
import org.junit.jupiter.api.Test;

class RequestReaderTest {

    @Test
    void aBodyThatIsNotOneJsonObject_isRefusedAs400() {
        for (String body : List.of("", "   ", "[1,2]", "\"text\"", "{\"a\":", "{\"a\":1,}", "<html>")) {
            RequestRefused refused = catchThrowableOfType(RequestRefused.class, () -> readAll(body));
            assertThat(refused).as(body).isNotNull();
            assertThat(refused.status()).isEqualTo(400);
            assertThat(refused.code()).isEqualTo("invalid_json");
        }
        RequestRefused trailing = catchThrowableOfType(RequestRefused.class, () -> readAll("{\"a\":1} {\"b\":2}"));
        assertThat(trailing.getMessage()).contains("found more after it");
    }

    @Test
    void positive_takesOnlyPositiveWholeNumbers_orNull() {
        Long three = first("{\"n\":3}", reader -> reader.positive("n"));
        Long none = first("{\"n\":null}", reader -> reader.positive("n"));
        assertThat(three).isEqualTo(3L);
        assertThat(none).isNull();
        for (String value : List.of("0", "-1", "1.5", "1e3", "\"3\"", "true", "99999999999999999999", "[1]")) {
            RequestRefused refused = catchThrowableOfType(RequestRefused.class,
                    () -> first("{\"n\":" + value + "}", reader -> reader.positive("n")));
            assertThat(refused).as(value).isNotNull();
            assertThat(refused.param()).isEqualTo("n");
            assertThat(refused.code()).isEqualTo("invalid_value");
        }
    }

    @Test
    void stringAndBool_nameTheFieldWhenTheValueIsOfAnotherKind() {
        String x = first("{\"s\":\"x\"}", reader -> reader.string("s"));
        String nothing = first("{\"s\":null}", reader -> reader.string("s"));
        assertThat(x).isEqualTo("x");
        assertThat(nothing).isNull();
        assertThat(catchThrowableOfType(RequestRefused.class, () -> first("{\"s\":{\"a\":1}}", reader -> reader.string("s")))
                .param()).isEqualTo("s");
        Boolean yes = first("{\"b\":true}", reader -> reader.bool("b"));
        Boolean no = first("{\"b\":null}", reader -> reader.bool("b"));
        assertThat(yes).isTrue();
        assertThat(no).isFalse();
        assertThat(catchThrowableOfType(RequestRefused.class, () -> first("{\"b\":\"yes\"}", reader -> reader.bool("b")))
                .param()).isEqualTo("b");
    }

    @Test
    void raw_isTheValueAsWritten_andOffsetsAreInBytes() {
        String body = "{\"t\":\"caf\u00e9\", \"tools\" : [ {\"x\": 1.0e2} ] ,\"m\":\"a\"}";
        byte[] bytes = body.getBytes(StandardCharsets.UTF_8);
        try (RequestReader reader = RequestReader.object(bytes, "a test")) {
            assertThat(reader.nextField()).isEqualTo("t");
            assertThat(reader.nextField()).isEqualTo("tools");
            assertThat(reader.raw()).isEqualTo("[ {\"x\": 1.0e2} ]");
            assertThat(reader.nextField()).isEqualTo("m");
            assertThat(reader.string("m")).isEqualTo("a");
            assertThat(new String(bytes, reader.start(), reader.end() - reader.start(), StandardCharsets.UTF_8))
                    .isEqualTo("\"a\"");
            assertThat(reader.nextField()).isNull();
            assertThat(bytes[reader.start()]).as("the root's closing brace").isEqualTo((byte) '}');
            reader.end("a test");
        }
    }

    @Test
    void tally_countsEveryStringOfTheValue_butItsLabels() {
        PromptTally tally = new PromptTally();
        try (RequestReader reader = RequestReader.object(("{\"m\":[{\"role\":\"user\",\"content\":[{\"type\":\"text\","
                + "\"text\":\"hi there\"},\"loose words\",7,null,{\"id\":\"call_1\"}]}],\"after\":\"not counted\"}")
                .getBytes(StandardCharsets.UTF_8), "a test")) {
            reader.nextField();
            assertThat(reader.token()).isEqualTo(JsonToken.START_ARRAY);
            reader.tally(tally);
            assertThat(reader.nextField()).as("the walk ends where the value does").isEqualTo("after");
        }

        Encoding o200k = Encodings.newLazyEncodingRegistry().getEncodingForModel(ModelType.GPT_4O);
        assertThat(tally.tokens(new TokenEstimator(), Provider.OPENAI, "gpt-4o")).isEqualTo((long) o200k.countTokensOrdinary("user")
                + o200k.countTokensOrdinary("hi there") + o200k.countTokensOrdinary("loose words"));
    }

    private static void readAll(String body) {
        try (RequestReader reader = RequestReader.object(body.getBytes(StandardCharsets.UTF_8), "a test")) {
            while (reader.nextField() != null) {
                reader.skip();
            }
            reader.end("a test");
        }
    }

    private static <T> T first(String body, java.util.function.Function<RequestReader, T> read) {
        try (RequestReader reader = RequestReader.object(body.getBytes(StandardCharsets.UTF_8), "a test")) {
            reader.nextField();
            return read.apply(reader);
        }
    }
}
