package dev.keypool.server;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import dev.keypool.providers.fake.FakeUpstream;
import dev.keypool.providers.fake.Gate;
import dev.keypool.providers.fake.RecordedRequest;
import dev.keypool.providers.fake.RecordedResponse;
import dev.keypool.providers.fake.Reply;
import java.io.IOException;
import java.io.InputStream;
import java.io.UncheckedIOException;
import java.net.URI;
import java.net.URLDecoder;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;

/**
 * "Passed through", as {@code keypool-server/README.md} ("What the gateway changes, and only this")
 * defines it, checked on the wire: a caller's request, sent as raw HTTP/1.1 with headers the test
 * chose, against what the fake upstream recorded receiving; and the fake's recorded answer against
 * what the caller received. Every header the README does not list as changed must arrive unchanged,
 * and nothing the README does not list may be added.
 */
final class Fidelity {

    /** A plain HTTP/1.1 client: the JDK's default (HTTP/2) would add its upgrade headers to every request. */
    static final HttpClient HTTP = HttpClient.newBuilder().version(HttpClient.Version.HTTP_1_1)
            .connectTimeout(Duration.ofSeconds(5)).build();

    /** What the README says never goes upstream: hop-by-hop, framing, cookies, keypool's own, credentials. */
    private static final Set<String> NOT_UPSTREAM = Set.of("connection", "keep-alive", "te", "trailer",
            "transfer-encoding", "upgrade", "http2-settings", "proxy-connection", "proxy-authorization", "host",
            "content-length", "expect", "cookie", "accept-encoding", "authorization", "api-key", "x-api-key",
            "x-goog-api-key", "openai-organization", "openai-project");

    /** What the gateway's own HTTP client puts on a request it sends: the framing of its connection. */
    private static final Set<String> UPSTREAM_FRAMING = Set.of("host", "content-length", "connection",
            "proxy-connection");

    /** What the README says is removed from an answer. */
    private static final Set<String> NOT_DOWNSTREAM = Set.of("connection", "keep-alive", "te", "trailer",
            "transfer-encoding", "upgrade", "content-length", "set-cookie", "date", "server", "alt-svc",
            "openai-organization", "openai-project");

    /**
     * What the gateway adds to an answer: its framing and date, keypool's {@code x-keypool-*}, and
     * {@code X-Accel-Buffering: no} on a stream (so that a proxy in front does not hold it back).
     */
    private static final Set<String> ADDED_DOWNSTREAM = Set.of("connection", "content-length", "transfer-encoding",
            "date", "x-accel-buffering", "x-keypool-provider", "x-keypool-key-index", "x-keypool-key",
            "x-keypool-model", "x-keypool-attempts", "x-keypool-failover");

    /** The user agent of every request the tests send, so that it can be seen to arrive. */
    static final String USER_AGENT = "keypool-fidelity-test/1.0";

    private Fidelity() {
    }

    /** A request to the gateway with {@code headers} ({@code "name", "value", …}) and a user agent of ours. */
    static HttpRequest.Builder request(String url, String... headers) {
        HttpRequest.Builder request = HttpRequest.newBuilder(URI.create(url)).header("User-Agent", USER_AGENT);
        for (int i = 0; i < headers.length; i += 2) {
            request.header(headers[i], headers[i + 1]);
        }
        return request;
    }

    /** Sends with a 30 s bound, the answer's body as bytes. */
    static HttpResponse<byte[]> send(HttpRequest.Builder request) {
        return TestGateway.send(HTTP, request, HttpResponse.BodyHandlers.ofByteArray());
    }

    /** Sends, the answer's body to be read as it arrives. */
    static InputStream open(HttpRequest.Builder request) {
        return TestGateway.send(HTTP, request, HttpResponse.BodyHandlers.ofInputStream()).body();
    }

    /** A streamed answer: {@code first}, then, once the test opens {@code gate}, {@code last}. */
    static Reply heldBetween(String contentType, String first, Gate gate, String last) {
        return exchange -> {
            exchange.startStream(200, contentType);
            exchange.write(first);
            exchange.await(gate);
            exchange.write(last);
            exchange.finish();
        };
    }

    /**
     * The caller receives {@code first} while the provider holds {@code last} back behind {@code gate}
     * (the gateway passes each event on as it arrives), then {@code last}, each as it was sent.
     */
    static void assertEventByEvent(HttpRequest.Builder request, String first, Gate gate, String last)
            throws Exception {
        try (InputStream in = open(request)) {
            assertThat(readWithin(in, first.length())).as("the first event, while the provider holds the next")
                    .isEqualTo(first);
            gate.open();
            assertThat(readWithin(in, Integer.MAX_VALUE)).isEqualTo(last);
        }
    }

    static HttpResponse<byte[]> post(String url, String body, String... headers) {
        return send(request(url, headers).POST(HttpRequest.BodyPublishers.ofString(body)));
    }

    static HttpResponse<byte[]> get(String url, String... headers) {
        return send(request(url, headers).GET());
    }

    static String text(HttpResponse<byte[]> response) {
        return new String(response.body(), StandardCharsets.UTF_8);
    }

    /**
     * Up to {@code length} bytes of a streamed answer (fewer when it ends first), as text, within 20 s:
     * a gateway that held the stream back fails the test instead of hanging it.
     */
    static String readWithin(InputStream in, int length) throws Exception {
        return CompletableFuture.supplyAsync(() -> {
            try {
                return new String(in.readNBytes(length), StandardCharsets.UTF_8);
            } catch (IOException e) {
                throw new UncheckedIOException(e);
            }
        }).get(20, TimeUnit.SECONDS);
    }

    /**
     * The provider received the caller's request as it was sent: the same method, path and body
     * bytes, every header the caller sent but those the README lists (with the same values, in the
     * same order), and nothing more than the connection's framing and {@code credential}.
     *
     * @param sent       the headers the caller set ({@code "name", "value", …}), beside {@link #USER_AGENT}
     * @param credential the header that carries the pooled key ({@code null} when none does: keyless,
     *                   or in the query)
     * @param key        the pooled key it must carry
     */
    static void assertForwarded(RecordedRequest received, String method, String path, byte[] body, String[] sent,
            String credential, String key) {
        assertThat(received.method()).isEqualTo(method);
        assertThat(received.path()).isEqualTo(path);
        assertThat(received.bodyBytes()).as("the body, byte for byte").isEqualTo(body);
        Map<String, List<String>> expected = new LinkedHashMap<>();
        expected.put("user-agent", List.of(USER_AGENT));
        for (int i = 0; i < sent.length; i += 2) {
            String name = sent[i].toLowerCase(Locale.ROOT);
            if (!NOT_UPSTREAM.contains(name) && !name.startsWith("x-keypool-")) {
                expected.computeIfAbsent(name, n -> new ArrayList<>()).add(sent[i + 1]);
            }
        }
        expected.forEach((name, values) -> assertThat(received.headers().get(name))
                .as("header %s reached the provider unchanged", name).isEqualTo(values));
        Set<String> extra = new LinkedHashSet<>(received.headers().keySet());
        extra.removeAll(expected.keySet());
        extra.removeAll(UPSTREAM_FRAMING);
        if (credential != null) {
            assertThat(received.headers().get(credential)).as("the pooled key, once").containsExactly(key);
            extra.remove(credential);
        }
        assertThat(extra).as("headers the caller did not send and the README does not list").isEmpty();
    }

    /**
     * The caller received the provider's answer as it was sent: status, body bytes, every header but
     * those the README removes (same values, same order), and no header the README does not add.
     */
    static void assertReturned(HttpResponse<byte[]> received, RecordedResponse sent) {
        assertThat(received.statusCode()).isEqualTo(sent.status());
        assertThat(received.body()).as("the body, byte for byte:\n%s", text(received)).isEqualTo(sent.body());
        Map<String, List<String>> got = lowerCased(received.headers().map());
        sent.headers().forEach((name, values) -> {
            if (!NOT_DOWNSTREAM.contains(name)) {
                assertThat(got.get(name)).as("header %s reached the caller unchanged", name).isEqualTo(values);
            }
        });
        Set<String> extra = new LinkedHashSet<>(got.keySet());
        extra.removeAll(sent.headers().keySet());
        extra.removeAll(ADDED_DOWNSTREAM);
        assertThat(extra).as("headers the provider did not send and the README does not list").isEmpty();
        for (String removed : List.of("server", "set-cookie", "alt-svc", "openai-organization", "openai-project")) {
            if (sent.headers().containsKey(removed)) {
                assertThat(got).as("the README removes %s", removed).doesNotContainKey(removed);
            }
        }
    }

    /** The only element; fails unless there is exactly one. */
    static RecordedRequest single(List<RecordedRequest> requests) {
        assertThat(requests).hasSize(1);
        return requests.get(0);
    }

    static byte[] bytes(String text) {
        return text.getBytes(StandardCharsets.UTF_8);
    }

    /** {@code headers} and {@code more} ({@code "name", "value", …}). */
    static String[] with(String[] headers, String... more) {
        String[] all = new String[headers.length + more.length];
        System.arraycopy(headers, 0, all, 0, headers.length);
        System.arraycopy(more, 0, all, headers.length, more.length);
        return all;
    }


    /** The field names of a JSON object, in order. */
    static List<String> fieldNames(JsonNode node) {
        List<String> names = new ArrayList<>();
        node.fieldNames().forEachRemaining(names::add);
        return names;
    }

    /**
     * The provider received the caller's query parameters, each name with the same values in the same
     * order, but {@code credential}: the caller's removed, and the pooled {@code key} in its place
     * ({@code null}: no key in the query). Compared decoded: the gateway's HTTP client re-encodes a
     * query and sends its names in an order of its own (see {@code SerpApiNativeTest}).
     */
    static void assertQueryForwarded(RecordedRequest received, String sentQuery, String credential, String key) {
        Map<String, List<String>> expected = new LinkedHashMap<>();
        if (sentQuery != null) {
            for (String pair : sentQuery.split("&")) {
                int equals = pair.indexOf('=');
                String name = URLDecoder.decode(equals < 0 ? pair : pair.substring(0, equals), StandardCharsets.UTF_8);
                String value = equals < 0 ? "" : URLDecoder.decode(pair.substring(equals + 1), StandardCharsets.UTF_8);
                if (!name.equals(credential)) {
                    expected.computeIfAbsent(name, n -> new ArrayList<>()).add(value);
                }
            }
        }
        if (key != null) {
            expected.put(credential, List.of(key));
        }
        assertThat(received.queryParams()).as("the query parameters that reached the provider").isEqualTo(expected);
    }

    /** The JSON of each {@code data:} event of an SSE body. */
    static List<JsonNode> sseData(String body) {
        return body.lines().filter(line -> line.startsWith("data: "))
                .map(line -> dev.keypool.providers.internal.Json.parseOrMissing(line.substring("data: ".length()))).toList();
    }

    /** No request {@code fake} received carries {@code secret}: not in a header, the query or the body. */
    static void assertNeverReached(FakeUpstream fake, String secret) {
        for (RecordedRequest request : fake.requests()) {
            assertThat(request.headers().toString()).doesNotContain(secret);
            assertThat(request.query() == null ? "" : request.query()).doesNotContain(secret);
            assertThat(request.body()).doesNotContain(secret);
        }
    }

    private static Map<String, List<String>> lowerCased(Map<String, List<String>> headers) {
        Map<String, List<String>> lower = new LinkedHashMap<>();
        headers.forEach((name, values) -> lower.computeIfAbsent(name.toLowerCase(Locale.ROOT),
                n -> new ArrayList<>()).addAll(values));
        return lower;
    }
}
