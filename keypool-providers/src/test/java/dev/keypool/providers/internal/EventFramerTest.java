package dev.keypool.providers.internal;

import static org.assertj.core.api.Assertions.assertThat;

import java.io.ByteArrayOutputStream;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import org.junit.jupiter.api.Test;

/**
 * Framing of server-sent events and NDJSON lines. Every input is also fed cut at every byte: the
 * events, their data and their raw bytes must not depend on how the network cut the stream, and
 * the raw bytes laid end to end must be the input.
 */
class EventFramerTest {

    /** One event as the handler saw it: its raw bytes, its data, and the data's place in the raw bytes. */
    private record Event(String raw, String data, String inPlace) {
    }

    // ---- server-sent events -----------------------------------------------------------------------

    @Test
    void sse_eachLineEnding_endsEventsTheSame() {
        for (String end : List.of("\n", "\r\n", "\r")) {
            String stream = "data: {\"a\":1}" + end + end + "data: {\"b\":2}" + end + end;

            List<Event> events = frameSse(stream);

            assertThat(events).as(escaped(end)).extracting(Event::data).containsExactly("{\"a\":1}", "{\"b\":2}");
            assertThat(events).extracting(Event::raw)
                    .containsExactly("data: {\"a\":1}" + end + end, "data: {\"b\":2}" + end + end);
            assertThat(events).extracting(Event::inPlace).containsExactly("{\"a\":1}", "{\"b\":2}");
        }
    }

    @Test
    void sse_mixedLineEndings_asGeminisCrlfAndOpenAisLf() {
        String stream = "data: {\"candidates\": []}\r\n\r\ndata: [DONE]\n\ndata: last\r\r";

        assertThat(frameSse(stream)).extracting(Event::data).containsExactly("{\"candidates\": []}", "[DONE]", "last");
    }

    @Test
    void sse_aCrAtTheEndOfOneFeed_andItsLfInTheNext_areOneLineEnding() {
        List<Event> events = new ArrayList<>();
        EventFramer framer = EventFramer.sse();

        feed(framer, "data: x\r", events);
        feed(framer, "\ndata: y\r\n\r\n", events);

        // had the \r and \n been two line endings, the empty line between them would have ended "x" alone
        assertThat(events).containsExactly(new Event("data: x\r\ndata: y\r\n\r\n", "x\ny", null));
    }

    @Test
    void sse_anEventCutAtEveryByte_framesAsTheWholeDoes() {
        String stream = ": keep-alive\r\n\r\n"
                + "event: message\r\nid: 7\r\ndata: {\"id\":\"chatcmpl-1\",\"choices\":[{\"delta\":{\"content\":\"caf\u00e9\"}}]}\r\n\r\n"
                + "data: line one\ndata: line two\n\n"
                + "\n\n"
                + "data:no-space\r\rdata:  two spaces\r\n\r\n"
                + "data: [DONE]\n\n";
        List<Event> whole = frameSse(stream);
        byte[] bytes = stream.getBytes(StandardCharsets.UTF_8);

        for (int cut = 0; cut <= bytes.length; cut++) {
            List<Event> events = new ArrayList<>();
            EventFramer framer = EventFramer.sse();
            framer.feed(bytes, 0, cut, collect(events));
            framer.feed(bytes, cut, bytes.length - cut, collect(events));
            framer.finish(collect(events));
            assertThat(events).as("cut at %d", cut).isEqualTo(whole);
        }
        List<Event> bytewise = new ArrayList<>();
        EventFramer framer = EventFramer.sse();
        for (int i = 0; i < bytes.length; i++) {
            framer.feed(bytes, i, 1, collect(bytewise));
        }
        framer.finish(collect(bytewise));
        assertThat(bytewise).isEqualTo(whole);
    }

    @Test
    void sse_commentsFieldsAndMultilineData() {
        String stream = ": keep-alive\n\n"
                + "event: response.created\nid: 7\nretry: 1000\ndata: {\"type\":\"response.created\"}\n\n"
                + "data: line one\ndata: line two\n\n"
                + "data:no-space\n\ndata:  two spaces\n\ndata:\n\n";

        List<Event> events = frameSse(stream);

        assertThat(events).extracting(Event::data).containsExactly(null, "{\"type\":\"response.created\"}",
                "line one\nline two", "no-space", " two spaces", "");
        // only an event that is one data line says where its data is, for an edit in place
        assertThat(events).extracting(Event::inPlace).containsExactly(null, null, null, "no-space", " two spaces", "");
    }

    @Test
    void sse_blankLinesBeforeAnEvent_belongToIt_andEndNothing() {
        List<Event> events = frameSse("\n\r\n\rdata: a\n\n");

        assertThat(events).containsExactly(new Event("\n\r\n\rdata: a\n\n", "a", "a"));
    }

    @Test
    void sse_theUnterminatedRest_isOneLastEvent_atTheEnd() {
        List<Event> events = new ArrayList<>();
        EventFramer framer = EventFramer.sse();

        feed(framer, "data: a\n\ndata: cut sh", events);
        assertThat(events).extracting(Event::data).containsExactly("a");
        framer.finish(collect(events));

        assertThat(events).extracting(Event::data).containsExactly("a", "cut sh");
        assertThat(events.get(1).raw()).isEqualTo("data: cut sh");
    }

    @Test
    void sse_rawEventsLaidEndToEnd_areTheInputByteForByte() {
        byte[] input = ("\r\n: ping\n\nevent: x\r\ndata: {\"k\":\"\u4f60\u597d\"}\r\n\r\n\n\ndata: a\rdata: b\r\r"
                + "data: tail without end\r").getBytes(StandardCharsets.UTF_8);

        for (int piece = 1; piece <= 7; piece++) {
            ByteArrayOutputStream out = new ByteArrayOutputStream();
            EventFramer framer = EventFramer.sse();
            EventFramer.Handler handler = (raw, length, data, start, end) -> out.write(raw, 0, length);
            for (int i = 0; i < input.length; i += piece) {
                framer.feed(input, i, Math.min(piece, input.length - i), handler);
            }
            framer.finish(handler);
            assertThat(out.toByteArray()).as("in pieces of %d", piece).isEqualTo(input);
        }
    }

    @Test
    void sse_aLargeEvent_isHeldWholeUntilItEnds() {
        String big = "x".repeat(100_000);
        List<Event> events = new ArrayList<>();
        EventFramer framer = EventFramer.sse();

        byte[] bytes = ("data: " + big + "\n\n").getBytes(StandardCharsets.UTF_8);
        for (int i = 0; i < bytes.length; i += 4096) {
            framer.feed(bytes, i, Math.min(4096, bytes.length - i), collect(events));
        }

        assertThat(events).singleElement().extracting(Event::data).isEqualTo(big);
    }

    // ---- lines (NDJSON) ---------------------------------------------------------------------------

    @Test
    void lines_everyLineIsAnEvent_endingsKeptInTheRawBytes() {
        String stream = "{\"message\":{\"content\":\"\u6211\u662f\"},\"done\":false}\n"
                + "{\"done\":false}\r\n"
                + "\n"
                + "{\"done\":true,\"eval_count\":53}";

        List<Event> events = frame(EventFramer.lines(), stream);

        assertThat(events).containsExactly(
                new Event("{\"message\":{\"content\":\"\u6211\u662f\"},\"done\":false}\n",
                        "{\"message\":{\"content\":\"\u6211\u662f\"},\"done\":false}",
                        "{\"message\":{\"content\":\"\u6211\u662f\"},\"done\":false}"),
                new Event("{\"done\":false}\r\n", "{\"done\":false}", "{\"done\":false}"),
                new Event("\n", null, null),
                new Event("{\"done\":true,\"eval_count\":53}", "{\"done\":true,\"eval_count\":53}",
                        "{\"done\":true,\"eval_count\":53}"));
    }

    @Test
    void lines_cutAtEveryByte_frameAsTheWholeDoes() {
        String stream = "{\"a\":1}\r\n{\"b\":2}\n\r\n{\"c\":3}\r{\"d\":4}\n";
        List<Event> whole = frame(EventFramer.lines(), stream);
        byte[] bytes = stream.getBytes(StandardCharsets.UTF_8);

        for (int cut = 0; cut <= bytes.length; cut++) {
            List<Event> events = new ArrayList<>();
            EventFramer framer = EventFramer.lines();
            framer.feed(bytes, 0, cut, collect(events));
            framer.feed(bytes, cut, bytes.length - cut, collect(events));
            framer.finish(collect(events));
            assertThat(events).as("cut at %d", cut).isEqualTo(whole);
        }
        assertThat(whole).extracting(Event::data).containsExactly("{\"a\":1}", "{\"b\":2}", null, "{\"c\":3}", "{\"d\":4}");
    }

    // ---- helpers ----------------------------------------------------------------------------------

    private static List<Event> frameSse(String stream) {
        return frame(EventFramer.sse(), stream);
    }

    private static List<Event> frame(EventFramer framer, String stream) {
        List<Event> events = new ArrayList<>();
        feed(framer, stream, events);
        framer.finish(collect(events));
        return events;
    }

    private static void feed(EventFramer framer, String text, List<Event> events) {
        byte[] bytes = text.getBytes(StandardCharsets.UTF_8);
        framer.feed(bytes, 0, bytes.length, collect(events));
    }

    private static EventFramer.Handler collect(List<Event> events) {
        return (raw, length, data, dataStart, dataEnd) -> events.add(new Event(
                new String(raw, 0, length, StandardCharsets.UTF_8),
                data == null ? null : new String(data, StandardCharsets.UTF_8),
                dataStart < 0 ? null : new String(Arrays.copyOfRange(raw, dataStart, dataEnd), StandardCharsets.UTF_8)));
    }

    private static String escaped(String lineEnd) {
        return lineEnd.replace("\r", "\\r").replace("\n", "\\n");
    }
}
