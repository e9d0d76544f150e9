package dev.keypool.springai;

import dev.keypool.adapter.RelayClient;
import dev.keypool.adapter.RelayedResponse;
import dev.keypool.providers.relay.Header;
import java.io.IOException;
import java.util.ArrayList;
import java.util.List;
import java.util.Objects;
import okhttp3.Headers;
import okhttp3.Interceptor;
import okhttp3.MediaType;
import okhttp3.Protocol;
import okhttp3.Request;
import okhttp3.Response;
import okhttp3.ResponseBody;
import okio.Buffer;
import okio.BufferedSource;
import okio.Okio;

/**
 * An OkHttp interceptor that answers each request itself, through keypool's relay, instead of
 * letting OkHttp call the provider: the request goes to a pooled key (its {@code Authorization}
 * replaced), fails over to the next key on a rate limit, spent quota, an invalid key or a server
 * error, and its tokens are reserved from the request and committed from the answer's usage on the
 * key that served. The answer's body is read as the provider sends it (a stream event by event);
 * closing it early abandons the answer, which the relay settles on the safe side. A spent pool is a
 * 429 with {@code Retry-After} and {@code X-Should-Retry: false}, which the OpenAI SDK under Spring
 * AI raises at once as its {@code RateLimitException}.
 *
 * <p>It must be the last interceptor of the chain (it never calls {@code chain.proceed}), which is
 * where {@code SpringAiOpenAiHttpClient.Builder#interceptor} puts it.
 */
public final class KeypoolOkHttpInterceptor implements Interceptor {

    private final RelayClient client;

    public KeypoolOkHttpInterceptor(RelayClient client) {
        this.client = Objects.requireNonNull(client, "client");
    }

    @Override
    public Response intercept(Chain chain) throws IOException {
        Request request = chain.request();
        List<Header> headers = new ArrayList<>();
        for (int i = 0; i < request.headers().size(); i++) {
            headers.add(new Header(request.headers().name(i), request.headers().value(i)));
        }
        byte[] body = null;
        if (request.body() != null) {
            Buffer buffer = new Buffer();
            request.body().writeTo(buffer);
            body = buffer.readByteArray();
            MediaType type = request.body().contentType();
            if (type != null && Header.first(headers, "Content-Type") == null) {
                headers.add(new Header("Content-Type", type.toString()));
            }
        }
        RelayedResponse answer = client.exchange(request.method(), request.url().uri(), headers, body);
        Headers.Builder answerHeaders = new Headers.Builder();
        for (Header header : answer.headers()) {
            answerHeaders.addUnsafeNonAscii(header.name(), header.value());
        }
        String contentType = answer.header("Content-Type");
        String contentLength = answer.header("Content-Length");
        return new Response.Builder().request(request).protocol(Protocol.HTTP_1_1).code(answer.status())
                .message(answer.refusal() != null ? answer.refusal().message() : "")
                .headers(answerHeaders.build())
                .body(new StreamedBody(answer, contentType == null ? null : MediaType.parse(contentType),
                        contentLength == null ? -1 : Long.parseLong(contentLength)))
                .build();
    }

    /** The relayed answer's body as OkHttp reads one; closing it closes the answer. */
    private static final class StreamedBody extends ResponseBody {

        private final RelayedResponse answer;
        private final MediaType type;
        private final long length;
        private final BufferedSource source;

        StreamedBody(RelayedResponse answer, MediaType type, long length) {
            this.answer = answer;
            this.type = type;
            this.length = length;
            this.source = Okio.buffer(Okio.source(answer.body()));
        }

        @Override
        public MediaType contentType() {
            return type;
        }

        @Override
        public long contentLength() {
            return length;
        }

        @Override
        public BufferedSource source() {
            return source;
        }

        @Override
        public void close() {
            answer.close();
            super.close();
        }
    }
}
