package dev.keypool.providers.openai;

import static org.assertj.core.api.Assertions.assertThat;

import java.nio.charset.StandardCharsets;
import java.util.List;
import org.junit.jupiter.api.Test;

/**
 * What a caller that did not ask for {@code include_usage} must not see of it: the usage chunk, and
 * the {@code "usage": null} every other chunk then carries. Everything else is left byte for byte.
 */
class HiddenUsageTest {

    private static final String CHOICES = "\"choices\":[{\"index\":0,\"delta\":{\"content\":\"Hi\"},\"finish_reason\":null}]";

    @Test
    void usageNull_isRemovedWhereverItSits() {
        assertThat(edit("{\"usage\":null,\"id\":\"c\"," + CHOICES + "}")).isEqualTo("{\"id\":\"c\"," + CHOICES + "}");
        assertThat(edit("{\"id\":\"c\",\"usage\":null," + CHOICES + "}")).isEqualTo("{\"id\":\"c\"," + CHOICES + "}");
        assertThat(edit("{\"id\":\"c\"," + CHOICES + ",\"usage\":null}")).isEqualTo("{\"id\":\"c\"," + CHOICES + "}");
        assertThat(edit("{\"usage\":null}")).isEqualTo("{}");
    }

    @Test
    void usageNull_withWhitespaceAround_leavesValidJson_andTheRestAsItWas() {
        assertThat(edit("{ \"usage\" : null , \"id\" : \"c\" }")).isEqualTo("{  \"id\" : \"c\" }");
        assertThat(edit("{ \"id\" : \"c\" ,\n  \"usage\" :\tnull\n}")).isEqualTo("{ \"id\" : \"c\" \n}");
        assertThat(edit("{\"id\":\"c\",  \"usage\": null,  " + CHOICES + "}")).isEqualTo("{\"id\":\"c\",  " + CHOICES + "}");
    }

    @Test
    void theUsageChunk_withNoChoices_isLeftOut() {
        assertThat(HiddenUsage.INSTANCE.edit(bytes("{\"id\":\"c\",\"object\":\"chat.completion.chunk\",\"choices\":[],"
                + "\"usage\":{\"prompt_tokens\":13,\"completion_tokens\":5,\"total_tokens\":18,"
                + "\"prompt_tokens_details\":{\"cached_tokens\":0}}}"))).isNull();
        assertThat(HiddenUsage.INSTANCE.edit(bytes("{\"usage\":{\"prompt_tokens\":13},\"id\":\"c\",\"choices\":[ ]}")))
                .as("whatever the order of its fields").isNull();
    }

    @Test
    void otherChunks_areLeftByteForByte() {
        List<String> chunks = List.of(
                "{\"id\":\"c\",\"object\":\"chat.completion.chunk\"," + CHOICES + ",\"obfuscation\":\"x1\"}",
                "{\"id\":\"c\",\"choices\":[{\"index\":0,\"delta\":{\"tool_calls\":[{\"index\":0,\"id\":\"call_1\","
                        + "\"function\":{\"arguments\":\"{\\\"usage\\\":null}\"}}]},\"usage\":null}]}",
                "{\"id\":\"c\",\"choices\":[],\"x\":{\"usage\":null}}",
                "{\"id\":\"c\"," + CHOICES + ",\"usage\":{\"prompt_tokens\":1}}",
                "{\"id\":\"c\",\"choices\":[]}",
                "{\"error\":{\"message\":\"The server had an error\",\"type\":\"server_error\"}}",
                "[DONE]",
                "not json at all",
                "{\"id\":\"c\",\"usage\":nul");
        for (String chunk : chunks) {
            byte[] data = bytes(chunk);
            assertThat(HiddenUsage.INSTANCE.edit(data)).as(chunk).isSameAs(data);
        }
    }

    private static String edit(String chunk) {
        byte[] edited = HiddenUsage.INSTANCE.edit(bytes(chunk));
        return edited == null ? null : new String(edited, StandardCharsets.UTF_8);
    }

    private static byte[] bytes(String text) {
        return text.getBytes(StandardCharsets.UTF_8);
    }
}
