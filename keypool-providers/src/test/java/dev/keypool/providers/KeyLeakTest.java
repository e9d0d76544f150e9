package dev.keypool.providers;

import static dev.keypool.providers.Keys.GEMINI_0;
import static dev.keypool.providers.Keys.GEMINI_1;
import static dev.keypool.providers.Keys.OPENAI_0;
import static dev.keypool.providers.Keys.OPENAI_1;
import static dev.keypool.providers.Keys.SERP_0;
import static dev.keypool.providers.Keys.SERP_1;
import static org.assertj.core.api.Assertions.assertThat;

import ch.qos.logback.classic.Level;
import ch.qos.logback.classic.Logger;
import ch.qos.logback.classic.spi.ILoggingEvent;
import ch.qos.logback.classic.spi.ThrowableProxyUtil;
import ch.qos.logback.core.Appender;
import ch.qos.logback.core.read.ListAppender;
import dev.keypool.config.KeyMask;
import dev.keypool.config.Provider;
import dev.keypool.event.LoggingKeyEventListener;
import dev.keypool.providers.fake.FakeGemini;
import dev.keypool.providers.fake.FakeOpenAi;
import dev.keypool.providers.fake.FakeSerpApi;
import dev.keypool.providers.fake.FakeUpstream;
import dev.keypool.providers.fake.Gate;
import dev.keypool.providers.fake.Reply;
import java.io.PrintWriter;
import java.io.StringWriter;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.function.Supplier;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.slf4j.LoggerFactory;

/**
 * Drives every path that can carry a key into a message (error bodies that echo the key, the
 * SerpApi URL that holds it, refused and timed-out connections, broken streams) with logging at
 * its most verbose, and looks for any full key in every exception, log line and result.
 */
class KeyLeakTest {

    private static final List<String> SECRETS = List.of(OPENAI_0, OPENAI_1, GEMINI_0, GEMINI_1, SERP_0, SERP_1);

    private final ListAppender<ILoggingEvent> logs = new ListAppender<>();
    private final Logger root = (Logger) LoggerFactory.getLogger(org.slf4j.Logger.ROOT_LOGGER_NAME);
    private final List<Object> seen = new ArrayList<>();
    private final List<Appender<ILoggingEvent>> quieted = new ArrayList<>();
    private Level previousLevel;

    @BeforeEach
    void captureEverything() {
        previousLevel = root.getLevel();
        root.iteratorForAppenders().forEachRemaining(quieted::add);
        quieted.forEach(root::detachAppender);
        root.setLevel(Level.TRACE);
        logs.start();
        root.addAppender(logs);
    }

    @AfterEach
    void restore() {
        root.detachAppender(logs);
        quieted.forEach(root::addAppender);
        root.setLevel(previousLevel);
    }

    @Test
    void noFullKey_inAnyException_logLine_orResult() {
        try (FakeOpenAi openai = FakeOpenAi.start(); FakeGemini gemini = FakeGemini.start();
                FakeSerpApi serp = FakeSerpApi.start();
                TestPool pool = TestPool.builder().keys(openai, OPENAI_0, OPENAI_1).keys(gemini, GEMINI_0, GEMINI_1)
                        .keys(serp, SERP_0, SERP_1).build()) {
            pool.manager.events().addListener(new LoggingKeyEventListener());

            // OpenAI: one answer echoes the full key, another the starred one; then every key fails.
            openai.enqueue(OPENAI_0, FakeOpenAi.invalidApiKeyEchoingFullKey());
            openai.enqueue(OPENAI_1, FakeOpenAi.invalidApiKey());
            call(() -> pool.llm.chat(ChatRequest.of("hi").withModel("gpt-4o")));
            pool.manager.resetAll();
            call(() -> pool.llm.chat(ChatRequest.of("hi").withModel("gpt-4o")));
            Gate delivered = new Gate();
            openai.enqueue(OPENAI_0, FakeOpenAi.streamThenDrop(delivered, "Hel", "lo"));
            List<String> deltas = new ArrayList<>();
            call(() -> pool.llm.stream(ChatRequest.of("hi").withModel("gpt-4o"), delta -> {
                deltas.add(delta);
                if (deltas.size() == 2) {
                    delivered.open();
                }
            }));
            openai.enqueue(OPENAI_1, echoingKeyInClientError());
            call(() -> pool.llm.chat(ChatRequest.of("hi").withModel("gpt-4o")));

            // Gemini: an invalid-key answer that (unlike Google) echoes the key, then a success.
            gemini.enqueue(GEMINI_0, exchange -> FakeGemini.error(400, "API key not valid: " + exchange.request().key(),
                    "INVALID_ARGUMENT", null).send(exchange));
            call(() -> pool.llm.chat(ChatRequest.of("hi").withModel("gemini-2.5-flash")));

            // SerpApi: the key is in the URL; a body echoing it, an error echoing it.
            serp.enqueue(SERP_0, exchange -> Reply.json(200, "{\"search_parameters\": {\"api_key\": \""
                    + exchange.request().key() + "\"}}").send(exchange));
            call(() -> pool.search.search(Map.of("q", List.of("coffee"))));
            serp.enqueue(exchange -> FakeSerpApi.error(400, "Invalid parameter for key " + exchange.request().key())
                    .send(exchange));
            call(() -> pool.search.search(Map.of("q", List.of("coffee"))));

            seen.add(pool.rotator.getProviderStatus());
        }

        // Transport failures with the SerpApi key in the URL: refused, then timed out.
        try (TestPool refused = TestPool.builder()
                .configure(config -> config.baseUrl(Provider.SERP, FakeUpstream.unreachableUrl())
                        .addKey(Provider.SERP, SERP_0).addKey(Provider.SERP, SERP_1))
                .build()) {
            refused.manager.events().addListener(new LoggingKeyEventListener());
            call(() -> refused.search.search(Map.of("q", List.of("coffee"))));
        }
        try (FakeSerpApi slow = FakeSerpApi.start();
                TestPool impatient = TestPool.builder().keys(slow, SERP_0)
                        .setting("KEYPOOL_UPSTREAM_TIMEOUT_SECONDS", "0.5").build()) {
            impatient.manager.events().addListener(new LoggingKeyEventListener());
            slow.enqueue(Reply.delayed(Duration.ofSeconds(30), FakeSerpApi.results()));
            call(() -> impatient.search.search(Map.of("q", List.of("coffee"))));
        }

        List<String> texts = new ArrayList<>();
        seen.forEach(item -> texts.add(item instanceof Throwable error ? stackTrace(error) : String.valueOf(item)));
        for (ILoggingEvent event : logs.list) {
            texts.add(event.getFormattedMessage());
            if (event.getThrowableProxy() != null) {
                texts.add(ThrowableProxyUtil.asString(event.getThrowableProxy()));
            }
        }
        assertThat(seen).hasSizeGreaterThan(8);
        assertThat(logs.list).isNotEmpty();
        assertThat(String.join("\n", texts)).contains(KeyMask.mask(OPENAI_0)).contains(KeyMask.mask(SERP_0));
        for (String text : texts) {
            for (String secret : SECRETS) {
                assertThat(text).doesNotContain(secret);
            }
        }
    }

    /** Keeps what the call returned or threw. */
    private void call(Supplier<?> call) {
        try {
            seen.add(call.get());
        } catch (RuntimeException e) {
            seen.add(e);
        }
    }

    private static Reply echoingKeyInClientError() {
        return exchange -> FakeOpenAi.badRequest("Bad request from " + exchange.request().key(), null, null).send(exchange);
    }

    private static String stackTrace(Throwable error) {
        StringWriter text = new StringWriter();
        error.printStackTrace(new PrintWriter(text));
        return text.toString();
    }
}
