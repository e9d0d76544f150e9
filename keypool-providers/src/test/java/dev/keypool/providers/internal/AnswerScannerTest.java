package dev.keypool.providers.internal;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assumptions.assumeThat;

import dev.keypool.providers.relay.UsageSpec;
import dev.keypool.rotation.TokenUsage;
import java.lang.management.ManagementFactory;
import java.nio.charset.StandardCharsets;
import java.util.Arrays;
import java.util.List;
import org.junit.jupiter.api.Test;

/**
 * The byte-level reader of usage and created ids. Every answer is also fed one byte at a time and
 * split at every boundary: what the scanner reads must not depend on how the network cut it.
 */
class AnswerScannerTest {

    private static final UsageSpec OPENAI = UsageSpec.OPENAI;
    /** Gemini's: no completion count, so it is the total minus the prompt (thinking tokens included). */
    private static final UsageSpec GEMINI = new UsageSpec(List.of("usageMetadata"), "promptTokenCount", null,
            "totalTokenCount");
    /** Ollama's: the counts sit at the root. */
    private static final UsageSpec OLLAMA = new UsageSpec(List.of(), "prompt_eval_count", "eval_count", null);

    // ---- usage ------------------------------------------------------------------------------------

    @Test
    void usage_isReadWhereverItSits_andWhateverTheOrderOfItsCounts() {
        List<String> answers = List.of(
                "{\"usage\":{\"prompt_tokens\":19,\"completion_tokens\":2,\"total_tokens\":21},\"id\":\"c\",\"choices\":[]}",
                "{\"id\":\"c\",\"usage\":{\"total_tokens\":21,\"completion_tokens\":2,\"prompt_tokens\":19},\"choices\":[]}",
                "{\"id\":\"c\",\"choices\":[],\"usage\":{\"completion_tokens\":2,\"prompt_tokens\":19,\"total_tokens\":21}}",
                "{\n  \"id\" : \"c\" ,\n  \"usage\" :\t{ \"prompt_tokens\" : 19 ,\r\n \"completion_tokens\" : 2 }\n}\n",
                "{\"usage\":{\"prompt_tokens_details\":{\"cached_tokens\":0},\"prompt_tokens\":19,"
                        + "\"completion_tokens_details\":{\"reasoning_tokens\":0},\"completion_tokens\":2}}");

        for (String answer : answers) {
            assertThat(scanWhole(OPENAI, answer).usage()).as(answer).isEqualTo(TokenUsage.of(19, 2));
        }
    }

    @Test
    void usage_withoutACompletionCount_isTheTotalLessThePrompt() {
        String gemini = "{\"candidates\":[{\"content\":{\"parts\":[{\"text\":\"Hi\"}]}}],\"usageMetadata\":"
                + "{\"promptTokenCount\":12,\"candidatesTokenCount\":87,\"totalTokenCount\":255,\"thoughtsTokenCount\":156}}";

        assertThat(scanWhole(GEMINI, gemini).usage()).isEqualTo(TokenUsage.of(12, 243));
    }

    @Test
    void usage_atTheRoot_isReadForAnEmptyPath() {
        String ollama = "{\"model\":\"llama3.2\",\"message\":{\"role\":\"assistant\",\"content\":\"Hi\"},"
                + "\"done\":true,\"prompt_eval_count\":44,\"eval_count\":4,\"eval_duration\":2377696000}";

        assertThat(scanWhole(OLLAMA, ollama).usage()).isEqualTo(TokenUsage.of(44, 4));
    }

    @Test
    void countsThatAreNotWholeNumbers_areNotRead_andTheOthersStillAre() {
        // OpenAI-compatible servers have been seen writing 2.0; a float is not a count the pool trusts
        String answer = "{\"usage\":{\"prompt_tokens\":19,\"completion_tokens\":2.0,\"total_tokens\":21}}";

        assertThat(scanWhole(OPENAI, answer).usage()).isEqualTo(TokenUsage.of(19, 2));
        assertThat(scanWhole(OPENAI, "{\"usage\":{\"prompt_tokens\":\"19\",\"completion_tokens\":null,"
                + "\"total_tokens\":1.0e2}}").usage()).isNull();
        assertThat(scanWhole(OPENAI, "{\"usage\":{\"prompt_tokens\":-3,\"completion_tokens\":true}}").usage()).isNull();
    }

    @Test
    void noUsage_andANullUsage_readAsNone() {
        assertThat(scanWhole(OPENAI, "{\"id\":\"c\",\"choices\":[]}").usage()).isNull();
        assertThat(scanWhole(OPENAI, "{\"id\":\"c\",\"usage\":null}").usage()).isNull();
        assertThat(scanWhole(OPENAI, "{\"usage\":{}}").usage()).isNull();
        assertThat(scanWhole(null, "{\"usage\":{\"prompt_tokens\":1}}").usage()).as("no usage asked for").isNull();
    }

    @Test
    void usageShapedObjects_awayFromThePath_areNotTheUsage() {
        String answer = "{\"choices\":[{\"usage\":{\"prompt_tokens\":901,\"completion_tokens\":902}}],"
                + "\"data\":{\"usage\":{\"prompt_tokens\":903,\"completion_tokens\":904}},"
                + "\"list\":[[{\"prompt_tokens\":905}],{\"usage\":{\"completion_tokens\":906}}],"
                + "\"prompt_tokens\":907,"
                + "\"usage\":{\"prompt_tokens\":5,\"completion_tokens\":{\"completion_tokens\":908},"
                + "\"total_tokens\":[909],\"details\":{\"prompt_tokens\":910}},"
                + "\"more\":{\"usage\":{\"prompt_tokens\":911}}}";

        // completion_tokens is an object and total_tokens an array: neither is a count
        assertThat(scanWhole(OPENAI, answer).usage()).isEqualTo(TokenUsage.of(5, 0));
    }

    @Test
    void stringsThatLookLikeJson_areSkipped_escapesAndAll() {
        String answer = "{\"content\":\"he wrote \\\"usage\\\":{\\\"prompt_tokens\\\":999} and \\\\\","
                + "\"text\":\"}]}]}\\\\\\\"{\\\"usage\\\":\","
                + "\"unicode\":\"\\u0022usage\\u0022: {\\u0022prompt_tokens\\u0022: 998}\","
                + "\"usage\":{\"prompt_tokens\":7,\"completion_tokens\":3}}";

        assertThat(scanWhole(OPENAI, answer).usage()).isEqualTo(TokenUsage.of(7, 3));
    }

    @Test
    void escapedKeys_neverMatchAnotherKey_andDoNotDerailTheFieldsAfterThem() {
        String answer = "{\"us\\\"age\":{\"prompt_tokens\":901},\"\\\\usage\":{\"prompt_tokens\":902},"
                + "\"a\\nb\":1,\"usage\":{\"prompt\\u005ftokens\":903,\"prompt_tokens\":8,\"completion_tokens\":1}}";

        assertThat(scanWhole(OPENAI, answer).usage()).isEqualTo(TokenUsage.of(8, 1));
    }

    @Test
    void longKeysAndDeepNesting_areFollowed_andTheUsageAfterThemIsRead() {
        String deep = "[".repeat(100) + "{\"usage\":{\"prompt_tokens\":1}}" + "]".repeat(100);
        String answer = "{\"" + "k".repeat(5000) + "\":{\"usage\":{\"prompt_tokens\":2}},\"deep\":" + deep
                + ",\"nested\":" + "{\"a\":".repeat(60) + "0" + "}".repeat(60)
                + ",\"usage\":{\"prompt_tokens\":30,\"completion_tokens\":4}}";

        assertThat(scanWhole(OPENAI, answer).usage()).isEqualTo(TokenUsage.of(30, 4));
    }

    @Test
    void anAnswerCutAnywhere_readsAsTheWholeDoes() {
        String answer = "{\"id\":\"resp_0123456789abcdef\",\"object\":\"response\",\"output\":[{\"id\":\"msg_1\","
                + "\"content\":[{\"type\":\"output_text\",\"text\":\"caf\u00e9 \\\"\u00fcber\\\" \\\\ \uD83D\uDE00\"}]}],"
                + "\"usage\":{\"input_tokens\":1234,\"input_tokens_details\":{\"cached_tokens\":1000},"
                + "\"output_tokens\":56,\"output_tokens_details\":{\"reasoning_tokens\":50},\"total_tokens\":1290},"
                + "\"metadata\":{\"id\":\"not-this\"}}";
        UsageSpec responses = new UsageSpec(List.of("usage"), "input_tokens", "output_tokens", "total_tokens");
        List<List<String>> ids = List.of(List.of("id"));
        AnswerScanner whole = scanWhole(responses, ids, false, answer);
        assertThat(whole.usage()).isEqualTo(TokenUsage.of(1234, 56));
        assertThat(whole.ids()).containsExactly("resp_0123456789abcdef");

        byte[] bytes = answer.getBytes(StandardCharsets.UTF_8);
        for (int cut = 0; cut <= bytes.length; cut++) {
            AnswerScanner split = new AnswerScanner(responses, ids, false);
            split.feed(bytes, 0, cut);
            split.feed(bytes, cut, bytes.length - cut);
            assertThat(split.usage()).as("cut at %d", cut).isEqualTo(whole.usage());
            assertThat(split.ids()).as("cut at %d", cut).isEqualTo(whole.ids());
        }
        AnswerScanner bytewise = new AnswerScanner(responses, ids, false);
        for (int i = 0; i < bytes.length; i++) {
            bytewise.feed(bytes, i, 1);
        }
        assertThat(bytewise.usage()).isEqualTo(whole.usage());
        assertThat(bytewise.ids()).isEqualTo(whole.ids());
    }

    @Test
    void aFiftyMegabyteAnswer_isReadInFixedMemory_andItsUsageFound() {
        byte[] answer = hugeAnswer(25 << 20, 25 << 20);
        assertThat(answer.length).isGreaterThan(50 << 20);
        com.sun.management.ThreadMXBean threads = (com.sun.management.ThreadMXBean) ManagementFactory.getThreadMXBean();
        assumeThat(threads.isThreadAllocatedMemorySupported() && threads.isThreadAllocatedMemoryEnabled())
                .as("this JVM counts a thread's allocations").isTrue();
        AnswerScanner scanner = new AnswerScanner(OPENAI, List.of(List.of("id")), false);

        long before = threads.getCurrentThreadAllocatedBytes();
        for (int offset = 0; offset < answer.length; offset += 16 * 1024) {
            scanner.feed(answer, offset, Math.min(16 * 1024, answer.length - offset));
        }
        long allocated = threads.getCurrentThreadAllocatedBytes() - before;

        assertThat(scanner.usage()).isEqualTo(TokenUsage.of(1000, 200));
        assertThat(scanner.ids()).containsExactly("embd-1");
        // neither the 25 MB string nor the 25 MB array is kept, nor any copy of a piece of them
        assertThat(allocated).as("bytes allocated while scanning").isLessThan(1 << 20);
    }

    // ---- documents --------------------------------------------------------------------------------

    @Test
    void arrayOfDocuments_theLastCumulativeUsageWins() {
        // Gemini's stream without alt=sse: one JSON array, element by element, CRLF between them
        String stream = "[{\n  \"candidates\": [{\"content\": {\"parts\": [{\"text\": \"As of\"}]}}],\n"
                + "  \"usageMetadata\": {\"promptTokenCount\": 21, \"candidatesTokenCount\": 2, \"totalTokenCount\": 23}\n}"
                + ",\r\n{\n  \"candidates\": [{\"content\": {\"parts\": [{\"text\": \" July\"}]}}],\n"
                + "  \"usageMetadata\": {\"promptTokenCount\": 21, \"candidatesTokenCount\": 43, \"totalTokenCount\": 545,"
                + " \"thoughtsTokenCount\": 481}\n}"
                + ",\r\n{\"candidates\": [{\"finishReason\": \"STOP\"}]}]";

        AnswerScanner whole = scanWhole(GEMINI, List.of(), true, stream);
        assertThat(whole.usage()).isEqualTo(TokenUsage.of(21, 524));
        byte[] bytes = stream.getBytes(StandardCharsets.UTF_8);
        AnswerScanner bytewise = new AnswerScanner(GEMINI, List.of(), true);
        for (int i = 0; i < bytes.length; i++) {
            bytewise.feed(bytes, i, 1);
        }
        assertThat(bytewise.usage()).isEqualTo(TokenUsage.of(21, 524));
    }

    @Test
    void arrayOfDocuments_aCountFromOneElementIsNeverJoinedToAnother() {
        String stream = "[{\"usageMetadata\":{\"promptTokenCount\":21}},{\"usageMetadata\":{\"totalTokenCount\":30}}]";

        // the second element alone says total 30, no prompt: it is read on its own, not with the first's 21
        assertThat(scanWhole(GEMINI, List.of(), true, stream).usage()).isEqualTo(TokenUsage.of(0, 30));
    }

    @Test
    void documents_eachReadOnItsOwn_theLastThatReportedWins() {
        AnswerScanner scanner = new AnswerScanner(OPENAI, List.of(), false);

        document(scanner, "{\"id\":\"c\",\"choices\":[{\"delta\":{\"content\":\"Hi\"}}],\"usage\":null}");
        assertThat(scanner.usage()).isNull();
        document(scanner, "{\"id\":\"c\",\"choices\":[],\"usage\":{\"prompt_tokens\":13,\"completion_tokens\":5}}");
        document(scanner, "[DONE]");
        document(scanner, "{\"id\":\"c\",\"choices\":[],\"usage\":null}");

        assertThat(scanner.usage()).isEqualTo(TokenUsage.of(13, 5));
    }

    @Test
    void aDocumentCutShort_reportsNothing_andTheNextIsReadFromItsOwnStart() {
        AnswerScanner scanner = new AnswerScanner(OLLAMA, List.of(), false);

        document(scanner, "{\"done\":true,\"prompt_eval_count\":44,\"message\":{\"content\":\"unterminated");
        assertThat(scanner.usage()).isNull();
        document(scanner, "{\"done\":true,\"prompt_eval_count\":32,\"eval_count\":53}");

        assertThat(scanner.usage()).isEqualTo(TokenUsage.of(32, 53));
    }

    @Test
    void aCountEndingTheDocument_isRead() {
        AnswerScanner scanner = new AnswerScanner(OLLAMA, List.of(), false);

        document(scanner, "{\"prompt_eval_count\":3,\"eval_count\":4}");

        assertThat(scanner.usage()).isEqualTo(TokenUsage.of(3, 4));
    }

    @Test
    void inputThatIsNotJson_yieldsNothing() {
        String html = "<html>\r\n<head><title>502 Bad Gateway</title></head>\r\n<body>\r\n"
                + "<center><h1>502 Bad Gateway</h1></center>\r\n<hr><center>cloudflare</center>\r\n</body>\r\n</html>\r\n";
        for (String text : List.of(html, "[DONE]", "", "   ", "Internal Server Error", "}}]]{\"usage\":{\"prompt_tokens\":1}}",
                "null", "42", "\"usage\"")) {
            AnswerScanner whole = scanWhole(OPENAI, List.of(List.of("id")), false, text);
            assertThat(whole.usage()).as(text).isNull();
            assertThat(whole.ids()).as(text).isEmpty();
            AnswerScanner event = new AnswerScanner(OPENAI, List.of(List.of("id")), false);
            document(event, text);
            assertThat(event.usage()).as(text).isNull();
        }
    }

    // ---- ids --------------------------------------------------------------------------------------

    @Test
    void ids_areTakenAtTheirPathsOnly() {
        String response = "{\"id\":\"resp_67ccd2bed1ec8190\",\"output\":[{\"id\":\"msg_67ccd2bf17f0\",\"type\":\"message\"}],"
                + "\"metadata\":{\"id\":\"meta_1\"},\"response\":{\"idx\":\"r\"},\"tools\":[{\"id\":\"t\"}]}";

        assertThat(scanWhole(null, List.of(List.of("id")), false, response).ids()).containsExactly("resp_67ccd2bed1ec8190");
        assertThat(scanWhole(null, List.of(List.of("metadata", "id")), false, response).ids()).containsExactly("meta_1");
        assertThat(scanWhole(null, List.of(List.of("output", "id")), false, response).ids())
                .as("under an array is not on the path").isEmpty();
        assertThat(scanWhole(null, List.of(), false, response).ids()).isEmpty();
    }

    @Test
    void ids_nestedPaths_acrossEventsOfAStream() {
        AnswerScanner scanner = new AnswerScanner(
                new UsageSpec(List.of("response", "usage"), "input_tokens", "output_tokens", "total_tokens"),
                List.of(List.of("response", "id")), false);

        document(scanner, "{\"type\":\"response.created\",\"response\":{\"id\":\"resp_1\",\"usage\":null}}");
        document(scanner, "{\"type\":\"response.output_item.added\",\"item\":{\"id\":\"msg_1\"}}");
        document(scanner, "{\"type\":\"response.completed\",\"response\":{\"output\":[{\"id\":\"msg_1\"}],"
                + "\"usage\":{\"input_tokens\":9,\"output_tokens\":4,\"total_tokens\":13},\"id\":\"resp_1\"}}");

        assertThat(scanner.ids()).containsExactly("resp_1", "resp_1");
        assertThat(scanner.usage()).isEqualTo(TokenUsage.of(9, 4));
    }

    @Test
    void ids_thatAreNotPlainStrings_areNotTaken() {
        String answers = "{\"id\":42}";
        assertThat(scanWhole(null, List.of(List.of("id")), false, answers).ids()).isEmpty();
        assertThat(scanWhole(null, List.of(List.of("id")), false, "{\"id\":{\"id\":\"inner\"}}").ids()).isEmpty();
        assertThat(scanWhole(null, List.of(List.of("id")), false, "{\"id\":\"" + "x".repeat(300) + "\"}").ids())
                .as("longer than any upstream id").isEmpty();
        assertThat(scanWhole(null, List.of(List.of("id")), false, "{\"id\":\"file-\\u0041bc\"}").ids())
                .as("escaped: not an id keypool could match later").isEmpty();
        assertThat(scanWhole(null, List.of(List.of("search_metadata", "id")), false,
                "{\"search_metadata\":{\"status\":\"Success\",\"id\":\"64c148d35119a60ab1e00cc9\"}}").ids())
                .containsExactly("64c148d35119a60ab1e00cc9");
    }

    // ---- helpers ----------------------------------------------------------------------------------

    private static AnswerScanner scanWhole(UsageSpec usage, String answer) {
        return scanWhole(usage, List.of(), false, answer);
    }

    private static AnswerScanner scanWhole(UsageSpec usage, List<List<String>> ids, boolean arrayRoot, String answer) {
        AnswerScanner scanner = new AnswerScanner(usage, ids, arrayRoot);
        byte[] bytes = answer.getBytes(StandardCharsets.UTF_8);
        scanner.feed(bytes, 0, bytes.length);
        return scanner;
    }

    private static void document(AnswerScanner scanner, String document) {
        byte[] bytes = document.getBytes(StandardCharsets.UTF_8);
        scanner.document(bytes, 0, bytes.length);
    }

    /** An embeddings-like answer: a huge array of numbers, a huge string, then the usage. */
    private static byte[] hugeAnswer(int arrayBytes, int stringBytes) {
        byte[] head = "{\"object\":\"list\",\"id\":\"embd-1\",\"data\":[".getBytes(StandardCharsets.US_ASCII);
        byte[] number = "-0.0123456789,".getBytes(StandardCharsets.US_ASCII);
        byte[] middle = "0.5],\"content\":\"".getBytes(StandardCharsets.US_ASCII);
        byte[] tail = "\",\"usage\":{\"prompt_tokens\":1000,\"completion_tokens\":200,\"total_tokens\":1200}}"
                .getBytes(StandardCharsets.US_ASCII);
        int numbers = arrayBytes / number.length;
        byte[] answer = new byte[head.length + numbers * number.length + middle.length + stringBytes + tail.length];
        int at = 0;
        System.arraycopy(head, 0, answer, at, head.length);
        at += head.length;
        for (int i = 0; i < numbers; i++) {
            System.arraycopy(number, 0, answer, at, number.length);
            at += number.length;
        }
        System.arraycopy(middle, 0, answer, at, middle.length);
        at += middle.length;
        // a base64-like run, with escapes sprinkled in, as a big image would arrive
        Arrays.fill(answer, at, at + stringBytes, (byte) 'Q');
        for (int i = at + 1000; i < at + stringBytes - 1; i += 4096) {
            answer[i] = '\\';
            answer[i + 1] = '"';
        }
        at += stringBytes;
        System.arraycopy(tail, 0, answer, at, tail.length);
        return answer;
    }
}
