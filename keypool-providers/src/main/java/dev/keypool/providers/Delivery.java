package dev.keypool.providers;

import dev.keypool.config.KeyMask;
import dev.keypool.failure.Failure;
import dev.keypool.failure.FailureKind;
import dev.keypool.failure.UpstreamException;
import dev.keypool.providers.Relay.CallerGone;
import dev.keypool.providers.Relay.StreamBroken;
import dev.keypool.providers.internal.AnswerScanner;
import dev.keypool.providers.internal.EventFramer;
import dev.keypool.providers.internal.ForwardedHeaders;
import dev.keypool.providers.internal.ScrubbingOutputStream;
import dev.keypool.providers.internal.Upstream;
import dev.keypool.providers.relay.AnswerSpec;
import dev.keypool.providers.relay.ChatTranslator;
import dev.keypool.providers.relay.Head;
import dev.keypool.providers.relay.Header;
import dev.keypool.providers.relay.Outcome;
import dev.keypool.providers.relay.ProviderApi;
import dev.keypool.providers.relay.Served;
import dev.keypool.providers.relay.Sink;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Locale;

/**
 * One answer on its way to the sink, in the framing its {@link AnswerSpec} names: a document read
 * whole when small, else pumped; a stream event by event; a translated answer through its
 * translator. What passes is fed to the {@link AnswerScanner} and settled by the {@link Settlement}.
 *
 * <p>Who is to blame for a failure follows from how far the answer got. A failure to read it
 * before anything reached the sink is the provider's and fails over (the {@link UpstreamException}
 * is rethrown); after, the caller holds part of an answer and it is {@link StreamBroken}. A failure
 * to write it is the caller's ({@link CallerGone}). Either way the reservation is charged whole. So
 * that a stream that fails before it said anything still fails over, the answer begins with its
 * first event that says something ({@link AnswerSpec#opens()}), not with the provider's headers:
 * events before it are held back, up to {@value #MAX_HELD} bytes.
 */
final class Delivery {

    /** Answers up to this size are read whole before any of it is sent (so a failure still fails over). */
    static final int BUFFERED_ANSWER = 256 * 1024;
    /** The largest answer a translator reads whole; a bigger one is a failure, not a heap full. */
    static final int MAX_TRANSLATED_ANSWER = 16 * 1024 * 1024;
    /** How much of the body is read from the provider at a time. */
    private static final int CHUNK = 16 * 1024;
    /** The most of a stream's opening held back before it is passed on regardless. */
    private static final int MAX_HELD = 64 * 1024;
    private static final byte[] EMPTY = new byte[0];
    private static final byte[] DATA = "data: ".getBytes(StandardCharsets.US_ASCII);
    private static final byte[] EVENT_END = "\n\n".getBytes(StandardCharsets.US_ASCII);

    private final Upstream upstream;
    private final ProviderApi api;
    private final AnswerSpec spec;
    private final AnswerScanner scanner;
    private final Settlement settlement;
    private final String secret;
    private final Served served;
    private final boolean stream;
    private OutputStream out;
    /** Events held back until one says something ({@link #passOn}). */
    private final ByteArrayOutputStream held = new ByteArrayOutputStream(0);
    private boolean begun;
    private boolean ended;
    /** The first failure an event of the stream reported, if any. */
    private UpstreamException streamFailure;

    /**
     * @param scanner    reads the answer's usage and created ids as it passes ({@link #scanner(AnswerSpec)})
     * @param settlement settles the reservation from what {@code scanner} read
     * @param secret     the key the answer was asked with, hidden in it where {@link AnswerSpec#scrub()} says;
     *                   {@code null} for keyless Ollama
     * @param stream     whether the caller asked for a stream (a translated answer only)
     */
    Delivery(Upstream upstream, ProviderApi api, AnswerSpec spec, AnswerScanner scanner, Settlement settlement,
            String secret, Served served, boolean stream) {
        this.upstream = upstream;
        this.api = api;
        this.spec = spec;
        this.scanner = scanner;
        this.settlement = settlement;
        this.secret = secret;
        this.served = served;
        this.stream = stream;
    }

    /** The scanner that reads an answer of {@code spec}. */
    static AnswerScanner scanner(AnswerSpec spec) {
        return new AnswerScanner(spec.usage(), spec.ids(), spec.framing() == AnswerSpec.Framing.JSON_ARRAY);
    }

    void passThrough(Upstream.StreamingResponse response, Sink sink) {
        List<Header> headers = passed(response);
        switch (spec.framing()) {
            case SSE, NDJSON -> events(response, new Head(response.status(), headers, served, -1, true), sink);
            case JSON_ARRAY -> pump(response, new Head(response.status(), headers, served, -1, true), sink,
                    EMPTY, true);
            case DOCUMENT, OPAQUE -> document(response, headers, sink);
        }
    }

    private void document(Upstream.StreamingResponse response, List<Header> headers, Sink sink) {
        boolean read = spec.framing() == AnswerSpec.Framing.DOCUMENT && readable(headers);
        long declared = response.contentLength();
        int limit = spec.scrub() ? MAX_TRANSLATED_ANSWER : BUFFERED_ANSWER;
        byte[] first = readWithin(response, limit + 1);
        if (first.length <= limit) {
            if (read) {
                scanner.feed(first, 0, first.length);
            }
            byte[] body = spec.scrub() && secret != null ? scrubBytes(first, secret) : first;
            settlement.commit();
            write(sink, () -> sink.whole(new Head(response.status(), headers, served, body.length, false), body));
            begun = true;
            return;
        }
        pump(response, new Head(response.status(), headers, served, spec.scrub() ? -1 : declared, false), sink,
                first, read);
    }

    /** Passes the body on as it arrives (the first bytes already read), reading it for usage when {@code read}. */
    private void pump(Upstream.StreamingResponse response, Head head, Sink sink, byte[] first, boolean read) {
        if (first.length > 0) {
            if (read) {
                scanner.feed(first, 0, first.length);
            }
            OutputStream stream = out(sink, head);
            write(sink, () -> stream.write(first));
        }
        InputStream in = response.body();
        byte[] buffer = new byte[CHUNK];
        int n;
        while ((n = readBody(in, buffer)) >= 0) {
            if (read) {
                scanner.feed(buffer, 0, n);
            }
            int length = n;
            OutputStream stream = out(sink, head);
            write(sink, () -> {
                stream.write(buffer, 0, length);
                if (head.streaming()) {
                    stream.flush();
                }
            });
        }
        end(sink, head);
    }

    /**
     * Passes a stream on event by event. The answer begins with its first event, not with the
     * provider's headers: a stream that fails before it said anything still fails over.
     */
    private void events(Upstream.StreamingResponse response, Head head, Sink sink) {
        AnswerSpec.EventEditor editor = spec.editor();
        EventFramer.Handler handler = (raw, length, data, dataStart, dataEnd) -> {
            if (data != null) {
                scanner.document(data, 0, data.length);
                noteFailure(data);
            }
            if (editor != null && data != null && dataStart >= 0) {
                byte[] edited = editor.edit(data);
                if (edited == null) {
                    return;
                }
                if (edited != data) {
                    byte[] event = new byte[dataStart + edited.length + length - dataEnd];
                    System.arraycopy(raw, 0, event, 0, dataStart);
                    System.arraycopy(edited, 0, event, dataStart, edited.length);
                    System.arraycopy(raw, dataEnd, event, dataStart + edited.length, length - dataEnd);
                    passOn(sink, head, event, 0, event.length, edited);
                    return;
                }
            }
            passOn(sink, head, raw, 0, length, data);
        };
        frame(response, handler, sink);
        end(sink, head);
    }

    void translated(Upstream.StreamingResponse response, ChatTranslator.Translation translation, Sink sink) {
        if (!stream) {
            byte[] body = readWithin(response, MAX_TRANSLATED_ANSWER + 1);
            if (body.length > MAX_TRANSLATED_ANSWER) {
                throw failedWhileReading(new UpstreamException(Failure.of(FailureKind.SERVER_ERROR,
                        "the answer is larger than the " + MAX_TRANSLATED_ANSWER + " bytes keypool translates"),
                        response.status()));
            }
            scanner.feed(body, 0, body.length);
            byte[] completion = translation.completion(body);
            settlement.commit();
            write(sink, () -> sink.whole(new Head(200, List.of(new Header("Content-Type", "application/json")),
                    served, completion.length, false), completion));
            begun = true;
            return;
        }
        Head head = new Head(200, List.of(new Header("Content-Type", "text/event-stream"),
                new Header("Cache-Control", "no-cache")), served, -1, true);
        EventFramer.Handler handler = (raw, length, data, dataStart, dataEnd) -> {
            if (data != null) {
                scanner.document(data, 0, data.length);
                noteFailure(data);
                for (byte[] chunk : translation.chunks(data)) {
                    writeEvent(sink, head, chunk);
                }
            }
        };
        frame(response, handler, sink);
        for (byte[] chunk : translation.end(true)) {
            writeEvent(sink, head, chunk);
        }
        end(sink, head);
    }

    /** Reads the body to its end, event by event in the answer's framing, flushing the caller's stream after each read. */
    private void frame(Upstream.StreamingResponse response, EventFramer.Handler handler, Sink sink) {
        EventFramer framer = spec.framing() == AnswerSpec.Framing.SSE ? EventFramer.sse() : EventFramer.lines();
        InputStream in = response.body();
        byte[] buffer = new byte[CHUNK];
        int n;
        while ((n = readBody(in, buffer)) >= 0) {
            framer.feed(buffer, 0, n, handler);
            flush(sink);
        }
        framer.finish(handler);
    }

    /** One OpenAI event written by a translator, held back like a passed one until the stream opens. */
    private void writeEvent(Sink sink, Head head, byte[] data) {
        byte[] event = new byte[DATA.length + data.length + EVENT_END.length];
        System.arraycopy(DATA, 0, event, 0, DATA.length);
        System.arraycopy(data, 0, event, DATA.length, data.length);
        System.arraycopy(EVENT_END, 0, event, DATA.length + data.length, EVENT_END.length);
        passOn(sink, head, event, 0, event.length, data);
    }

    /**
     * Passes one event on, or holds it back while the stream has not yet said anything (see
     * {@link AnswerSpec#opens()}); the held events go first once one opens it.
     */
    private void passOn(Sink sink, Head head, byte[] event, int offset, int length, byte[] data) {
        if (out == null && spec.opens() != null && held.size() < MAX_HELD
                && (data == null || !spec.opens().test(data))) {
            held.write(event, offset, length);
            return;
        }
        OutputStream stream = out(sink, head);
        write(sink, () -> stream.write(event, offset, length));
    }

    /** Keeps the first failure an event reports; the key gets its reaction when the stream ends. */
    private void noteFailure(byte[] data) {
        if (streamFailure == null) {
            streamFailure = api.streamFailure(data, secret);
        }
    }

    /** The caller's stream, begun with {@code head} the first time something is written to it. */
    private OutputStream out(Sink sink, Head head) {
        if (out == null) {
            write(sink, () -> out = spec.scrub() && secret != null
                    ? new ScrubbingOutputStream(sink.begin(head), secret) : sink.begin(head));
            begun = true;
            if (held.size() > 0) {
                write(sink, () -> held.writeTo(out));
                held.reset();
            }
        }
        return out;
    }

    private void flush(Sink sink) {
        if (out != null) {
            write(sink, out::flush);
        }
    }

    /**
     * Ends the caller's stream (begun now if the provider sent nothing at all), once the
     * provider's ended. Never after a failure: that stream is left unended, so the caller sees it cut.
     */
    private void end(Sink sink, Head head) {
        if (ended) {
            return;
        }
        ended = true;
        OutputStream stream = out(sink, head);
        settlement.commit();
        write(sink, stream::close);
    }

    /** Reads up to {@code limit} bytes within the upstream timeout (the answer may be smaller). */
    private byte[] readWithin(Upstream.StreamingResponse response, int limit) {
        long deadline = System.nanoTime() + upstream.timeout().toNanos();
        InputStream in = response.body();
        long declared = response.contentLength();
        byte[] buffer = new byte[(int) Math.min(limit, declared >= 0 ? declared + 1 : CHUNK)];
        int size = 0;
        while (size < limit) {
            long left = deadline - System.nanoTime();
            if (left <= 0) {
                throw failedWhileReading(new UpstreamException(Failure.of(
                        FailureKind.SERVER_ERROR, "timed out: no complete answer within "
                                + Upstream.describe(upstream.timeout())), response.status()));
            }
            response.readTimeout(Duration.ofMillis(Math.max(1, left / 1_000_000)));
            if (size == buffer.length) {
                buffer = Arrays.copyOf(buffer, (int) Math.min(limit, (long) buffer.length * 2));
            }
            int n = readBody(in, buffer, size, buffer.length - size);
            if (n < 0) {
                break;
            }
            size += n;
        }
        response.readTimeout(upstream.idleTimeout());
        return size == buffer.length ? buffer : Arrays.copyOf(buffer, size);
    }

    private int readBody(InputStream in, byte[] buffer) {
        return readBody(in, buffer, 0, buffer.length);
    }

    private int readBody(InputStream in, byte[] buffer, int offset, int length) {
        try {
            return in.read(buffer, offset, length);
        } catch (UpstreamException e) {
            throw failedWhileReading(e);
        } catch (IOException e) {
            throw failedWhileReading(Upstream.transportFailure(e, secret));
        }
    }

    /**
     * The provider failed mid-answer. It may have billed what it generated, so the whole
     * reservation is charged. Before anything reached the caller, the failure is the provider's
     * and fails over; after, the caller holds part of an answer and nothing is retried.
     */
    private RuntimeException failedWhileReading(UpstreamException failure) {
        settlement.chargeReserved();
        if (!begun) {
            return failure;
        }
        settlement.blame(failure);
        return new StreamBroken(failure);
    }

    private void write(Sink sink, SinkWrite write) {
        try {
            write.run();
        } catch (IOException | UncheckedIOException e) {
            settlement.chargeReserved();
            throw new CallerGone(e);
        } catch (RuntimeException | Error e) {
            // an interrupt, or a library listener that threw: the caller abandoned the answer
            settlement.chargeReserved();
            throw e;
        }
    }

    /** The answer is delivered: settled, and the first failure a stream event reported blamed on its key. */
    Outcome settle(int status) {
        settlement.commit();
        if (streamFailure != null) {
            settlement.blame(streamFailure);
        }
        return new Outcome(served, status, settlement.usage());
    }

    @FunctionalInterface
    private interface SinkWrite {
        void run() throws IOException;
    }

    /** The provider's headers that reach the caller. */
    static List<Header> passed(Upstream.StreamingResponse response) {
        List<Header> headers = new ArrayList<>(16);
        response.forEachHeader((name, value) -> {
            if (ForwardedHeaders.downstream(name)) {
                headers.add(new Header(name, value));
            }
        });
        return headers;
    }

    /** Whether the answer's body is JSON that keypool can read as it passes (not compressed, not binary). */
    private static boolean readable(List<Header> headers) {
        String encoding = Header.first(headers, "Content-Encoding");
        if (encoding != null && !encoding.equalsIgnoreCase("identity")) {
            return false;
        }
        String type = Header.first(headers, "Content-Type");
        return type == null || type.toLowerCase(Locale.ROOT).contains("json");
    }

    private static byte[] scrubBytes(byte[] body, String secret) {
        String text = new String(body, StandardCharsets.UTF_8);
        return text.contains(secret) ? KeyMask.scrub(text, secret).getBytes(StandardCharsets.UTF_8) : body;
    }
}
