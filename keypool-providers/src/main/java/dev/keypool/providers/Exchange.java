package dev.keypool.providers;

import dev.keypool.config.KeyMask;
import dev.keypool.failure.FailureKind;
import dev.keypool.failure.UpstreamException;
import dev.keypool.providers.Relay.CallerGone;
import dev.keypool.providers.internal.AnswerScanner;
import dev.keypool.providers.internal.RateLimitSnapshot;
import dev.keypool.providers.internal.Upstream;
import dev.keypool.providers.internal.UpstreamRequest;
import dev.keypool.providers.openai.OpenAiShapes;
import dev.keypool.providers.relay.AnswerSpec;
import dev.keypool.providers.relay.Call;
import dev.keypool.providers.relay.ChatTranslator;
import dev.keypool.providers.relay.Head;
import dev.keypool.providers.relay.Header;
import dev.keypool.providers.relay.Outcome;
import dev.keypool.providers.relay.ProviderApi;
import dev.keypool.providers.relay.Served;
import dev.keypool.providers.relay.Sink;
import dev.keypool.rotation.ApiKeyManager;
import dev.keypool.rotation.Reservation;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.time.Clock;
import java.util.List;

/**
 * One HTTP exchange with one key (or keyless): send, classify, deliver, settle. The request goes
 * as its {@link Call} writes it, or as a {@link ChatTranslator} translates it for another provider.
 * The provider's rate-limit headers are observed on every answer. An answer that is not a success
 * is classified by the provider's {@link ProviderApi#failure}: a client error becomes a
 * {@link Refusal}, which no other key would answer differently and which the relay hands to the
 * caller as the provider's own answer (in OpenAI's error shape when it was translated); any other
 * failure is thrown for the key to get its reaction and the next key or route to be tried. A
 * success is handed to a {@link Delivery}.
 */
final class Exchange {

    /** The most of an error answer read (to classify it, and to pass it on). */
    private static final int MAX_ERROR_BODY = 64 * 1024;

    private final Upstream upstream;
    private final ApiKeyManager manager;
    private final Clock clock;
    private final KeyAffinity affinity;

    Exchange(Upstream upstream, ApiKeyManager manager, Clock clock, KeyAffinity affinity) {
        this.upstream = upstream;
        this.manager = manager;
        this.clock = clock;
        this.affinity = affinity;
    }

    /**
     * Sends {@code call} for {@code model} with {@code secret} (both {@code null} when keyless) and
     * delivers its answer to {@code sink}.
     *
     * @param translator  the translator to the route's provider, {@code null} for the request's own
     * @param reservation what {@code secret} reserved, {@code null} when no key is spent
     * @throws Refusal            the provider refused the request itself
     * @throws UpstreamException  the provider failed before its answer began to reach the caller
     */
    Outcome run(ProviderApi api, Call call, ChatTranslator translator, String model, String secret,
            Reservation reservation, Served served, Sink sink) {
        ChatTranslator.Translation translation = translator == null ? null
                : translator.translate(call.json(), model, secret, call.stream());
        UpstreamRequest request = translation != null ? translation.upstream() : call.upstream(secret, model);
        AnswerSpec spec = translation != null ? translation.answer() : call.answer();
        if (translation != null && !translation.dropped().isEmpty()) {
            served = served.withDropped(translation.dropped());
        }
        try (Upstream.StreamingResponse response = upstream.open(request, secret)) {
            if (reservation != null) {
                RateLimitSnapshot budget = api.budget(response.headers());
                if (budget != null) {
                    manager.observeBudget(reservation.keyId(), budget.toBudget(clock.millis()));
                }
            }
            int status = response.status();
            if (status < 200 || status >= 300) {
                String body = scrub(new String(readAtMost(response, MAX_ERROR_BODY), StandardCharsets.UTF_8), secret);
                UpstreamException failure = api.failure(status, response.headers(), body, secret);
                if (failure.kind() == FailureKind.CLIENT_ERROR) {
                    throw translation != null
                            ? new Refusal(failure, new Head(status, List.of(new Header("Content-Type", "application/json")),
                                    served, -1, false), OpenAiShapes.error(failure.getMessage(), "invalid_request_error",
                                    null, api.provider().id() + "_error"))
                            : new Refusal(failure, new Head(status, Delivery.passed(response), served, -1, false),
                                    body.getBytes(StandardCharsets.UTF_8));
                }
                throw failure;
            }
            AnswerScanner scanner = Delivery.scanner(spec);
            Delivery delivery = new Delivery(upstream, api, spec, scanner,
                    new Settlement(manager, affinity, reservation, scanner), secret, served, call.stream());
            if (translation != null) {
                delivery.translated(response, translation, sink);
            } else {
                delivery.passThrough(response, sink);
            }
            return delivery.settle(status);
        }
    }

    private static byte[] readAtMost(Upstream.StreamingResponse response, int limit) {
        try {
            return response.body().readNBytes(limit);
        } catch (IOException e) {
            return new byte[0];
        } catch (UpstreamException e) {
            return new byte[0];
        }
    }

    private static String scrub(String text, String secret) {
        return secret == null ? text : KeyMask.scrub(text, secret);
    }

    /** The provider's own refusal of the request, with its answer, to pass to the caller. */
    static final class Refusal extends UpstreamException {

        private final transient Head head;
        private final transient byte[] body;

        Refusal(UpstreamException failure, Head head, byte[] body) {
            super(failure.failure(), failure.status(), null);
            this.head = head;
            this.body = body;
        }

        /** Hands the refusal to {@code sink}: the outcome the caller got. */
        Outcome answer(Sink sink) {
            try {
                sink.refused(head, body, this);
            } catch (IOException e) {
                throw new CallerGone(e);
            }
            return new Outcome(head.served(), head.status(), null);
        }
    }
}
