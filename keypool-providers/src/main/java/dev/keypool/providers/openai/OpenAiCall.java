package dev.keypool.providers.openai;

import com.fasterxml.jackson.core.JsonToken;
import com.fasterxml.jackson.databind.JsonNode;
import dev.keypool.providers.internal.BodyEdits;
import dev.keypool.providers.internal.Json;
import dev.keypool.providers.internal.PromptTally;
import dev.keypool.providers.internal.RequestReader;
import dev.keypool.providers.internal.UpstreamRequest;
import dev.keypool.providers.relay.AnswerSpec;
import dev.keypool.providers.relay.Call;
import dev.keypool.providers.relay.Inbound;
import dev.keypool.providers.relay.RequestRefused;
import java.io.IOException;
import java.util.Locale;
import java.util.Set;

/**
 * One OpenAI request, read: the few fields the pool needs and where they are in the body, so the
 * request goes upstream as the caller wrote it. The only changes ever made, each in place and
 * documented in {@code keypool-server/README.md}: the {@code model} when the route chose one
 * ({@code auto}, {@code openai/gpt-4o}, a fallback), {@code stream_options.include_usage} on a
 * stream that did not ask for it (the usage it adds is hidden from the caller again), and, only
 * when an operator opted in ({@code KEYPOOL_ENFORCE_OUTPUT_CAP}), the output cap of a request that
 * set none.
 */
final class OpenAiCall implements Call {

    private final OpenAiApi api;
    private final Inbound inbound;
    private final boolean routable;
    String model;
    private int modelStart = -1;
    private int modelEnd = -1;
    long prompt;
    long output;
    boolean stream;
    Set<String> references = Set.of();
    /** {@code prompt_cache_key} and {@code user}, when they are strings: the session, in that order. */
    String promptCacheKey;
    String user;
    AnswerSpec answer;
    /** Where the root object's closing brace is, for a field added at its end. */
    int rootEnd = -1;
    /** The change that asks a stream for its usage, or {@code null} when the caller asked itself. */
    private BodyEdits streamUsage;
    /** Whether the caller wrote {@code stream_options} (so {@link #streamUsage} is decided). */
    private boolean optionsRead;
    /** The output cap to add when the operator enforces one and the request set none, else 0. */
    long enforcedCap;
    private JsonNode tree;

    OpenAiCall(OpenAiApi api, Inbound inbound, boolean routable) {
        this.api = api;
        this.inbound = inbound;
        this.routable = routable;
    }

    @Override
    public String model() {
        return model;
    }

    @Override
    public boolean routable() {
        return routable;
    }

    @Override
    public long promptTokens() {
        return prompt;
    }

    @Override
    public long outputTokens() {
        return output;
    }

    @Override
    public boolean stream() {
        return stream;
    }

    @Override
    public String session() {
        return promptCacheKey != null ? promptCacheKey : user;
    }

    /**
     * A field that names a session, when it is a non-empty string; anything else is skipped, not
     * refused: OpenAI judges it, and the body goes on unchanged.
     */
    static String sessionField(RequestReader reader) {
        if (reader.token() == JsonToken.VALUE_STRING) {
            String text = reader.text();
            return text.isBlank() ? null : text;
        }
        reader.skip();
        return null;
    }

    @Override
    public Set<String> references() {
        return references;
    }

    @Override
    public AnswerSpec answer() {
        return answer;
    }

    /** Whether keypool added {@code include_usage} to this stream (and must hide what it brings). */
    boolean asksForUsage() {
        return streamUsage != null;
    }

    @Override
    public UpstreamRequest upstream(String apiKey, String routedModel) {
        BodyEdits edits = new BodyEdits();
        if (routedModel != null && modelStart >= 0 && !routedModel.equals(model)) {
            edits.replace(modelStart, modelEnd, BodyEdits.quoted(routedModel));
        }
        if (streamUsage != null) {
            edits.merge(streamUsage);
        }
        if (enforcedCap > 0 && rootEnd >= 0) {
            edits.insert(rootEnd, "," + BodyEdits.quoted(capField(routedModel != null ? routedModel : model)) + ":"
                    + enforcedCap);
        }
        return api.request(inbound.method(), inbound.path(), inbound.query(), inbound.headers(),
                edits.apply(inbound.body()), apiKey);
    }

    @Override
    public JsonNode json() {
        if (tree == null) {
            try {
                tree = Json.readTree(inbound.body());
            } catch (IOException e) {
                throw RequestRefused.notJson("The body is not valid JSON.");
            }
        }
        return tree;
    }

    /** Reads {@code model}: a non-empty string, whose place is kept for a routed model. */
    void readModel(RequestReader reader) {
        String value = reader.string("model");
        if (value == null || value.isBlank()) {
            throw RequestRefused.invalid("model", "'model' must be a non-empty string.");
        }
        model = value;
        modelStart = reader.start();
        modelEnd = reader.end();
    }

    /**
     * Reads {@code stream_options} and decides the change that asks for the usage chunk: set
     * {@code include_usage} to true, add it, or add the whole object (see {@link #askForUsage}).
     */
    void readStreamOptions(RequestReader reader) {
        JsonToken token = reader.token();
        if (token == JsonToken.VALUE_NULL) {
            optionsRead = true;
            streamUsage = new BodyEdits().replace(reader.start(), reader.end(), "{\"include_usage\":true}");
            return;
        }
        if (token != JsonToken.START_OBJECT) {
            reader.skip();
            throw RequestRefused.invalid("stream_options", "'stream_options' must be an object.");
        }
        int open = reader.start();
        boolean fields = false;
        Boolean include = null;
        int valueStart = -1;
        int valueEnd = -1;
        String field;
        while ((field = reader.nextField()) != null) {
            fields = true;
            if (field.equals("include_usage")) {
                valueStart = reader.start();
                include = reader.bool("stream_options.include_usage");
                valueEnd = reader.end();
            } else {
                reader.skip();
            }
        }
        optionsRead = true;
        if (Boolean.TRUE.equals(include)) {
            streamUsage = null;
        } else if (include != null) {
            streamUsage = new BodyEdits().replace(valueStart, valueEnd, "true");
        } else {
            streamUsage = new BodyEdits().insert(open + 1, "\"include_usage\":true" + (fields ? "," : ""));
        }
    }

    /** For a stream: when the caller did not write {@code stream_options}, adds it at the body's end. */
    void askForUsage() {
        if (stream && !optionsRead && rootEnd >= 0) {
            streamUsage = new BodyEdits().insert(rootEnd, ",\"stream_options\":{\"include_usage\":true}");
        }
        if (!stream) {
            streamUsage = null;
        }
    }

    /** Counts the strings of a prompt or input that may hold token ids ({@code [1, 2, 3]}) as well as text. */
    static void tallyInput(RequestReader reader, PromptTally tally) {
        JsonToken token = reader.token();
        if (token == JsonToken.START_ARRAY) {
            while (reader.next() != JsonToken.END_ARRAY) {
                tallyInput(reader, tally);
            }
        } else if (token == JsonToken.VALUE_NUMBER_INT) {
            tally.counted(1);
        } else if (token == JsonToken.VALUE_STRING) {
            tally.text(reader.text());
        } else {
            reader.tally(tally);
        }
    }

    /**
     * The cap field a model takes: {@code max_completion_tokens} for the o-series and gpt-5, which
     * refuse {@code max_tokens}; {@code max_tokens} for the rest, which every OpenAI-compatible
     * server understands.
     */
    static String capField(String model) {
        String name = model == null ? "" : model.toLowerCase(Locale.ROOT);
        boolean reasoning = (name.length() > 1 && name.charAt(0) == 'o' && Character.isDigit(name.charAt(1)))
                || name.startsWith("gpt-5");
        return reasoning ? "max_completion_tokens" : "max_tokens";
    }
}
