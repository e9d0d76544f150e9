package dev.keypool.providers.openai;

import com.fasterxml.jackson.databind.JsonNode;
import dev.keypool.providers.relay.RequestRefused;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Set;

/**
 * An OpenAI chat request as the translators to other providers read it: the conversation's text and
 * the sampling parameters that have a counterpart everywhere. A request that holds anything else is
 * refused by {@link #check}, naming the parameter, so that no provider answers without it.
 *
 * @param maxTokens {@code max_completion_tokens}, else {@code max_tokens}; {@code null} when the
 *                  request set no cap (none is then sent)
 */
public record TextChat(List<Message> messages, Double temperature, Long maxTokens, Double topP, List<String> stop,
        Long seed, boolean stream, boolean includeUsage) {

    /** One message: {@code system} (also for {@code developer}), {@code user} or {@code assistant}. */
    public record Message(String role, String text) {

        public boolean isInstruction() {
            return role.equals("system");
        }
    }

    private static final Set<String> CARRIED = Set.of("model", "messages", "temperature", "top_p", "max_tokens",
            "max_completion_tokens", "stop", "seed", "stream", "stream_options");
    /** Parameters carried only at the value that changes nothing (their default). */
    private static final Map<String, String> DEFAULTS_ONLY = Map.of("n", "1", "logprobs", "false",
            "presence_penalty", "0", "frequency_penalty", "0", "parallel_tool_calls", "true");
    private static final Set<String> ROLES = Set.of("system", "developer", "user", "assistant");

    /** The first parameter {@code provider} cannot carry, as a refusal; {@code null} when it can carry all. */
    public static RequestRefused check(JsonNode request, String provider) {
        if (!request.isObject()) {
            return RequestRefused.notJson("The body must be a JSON object.");
        }
        for (Map.Entry<String, JsonNode> field : request.properties()) {
            String name = field.getKey();
            JsonNode value = field.getValue();
            if (value.isNull() || CARRIED.contains(name)) {
                continue;
            }
            String neutral = DEFAULTS_ONLY.get(name);
            if (neutral != null && value.isValueNode() && neutral.equals(normalized(value))) {
                continue;
            }
            return unsupported(name, provider);
        }
        JsonNode options = request.path("stream_options");
        if (options.isObject()) {
            for (Map.Entry<String, JsonNode> option : options.properties()) {
                if (!option.getKey().equals("include_usage") && !option.getValue().isNull()) {
                    return unsupported("stream_options." + option.getKey(), provider);
                }
            }
        }
        JsonNode messages = request.path("messages");
        for (int i = 0; i < messages.size(); i++) {
            JsonNode message = messages.get(i);
            String where = "messages[" + i + "]";
            if (!message.isObject()) {
                return RequestRefused.invalid(where, "'" + where + "' must be an object.");
            }
            String role = message.path("role").asText("").toLowerCase(Locale.ROOT);
            if (!ROLES.contains(role)) {
                return role.equals("tool") || role.equals("function") ? unsupported(where + ".role", provider)
                        : RequestRefused.invalid(where + ".role", "Invalid value: '" + message.path("role").asText()
                                + "'. Supported values are: 'system', 'developer', 'user' and 'assistant'.");
            }
            for (Map.Entry<String, JsonNode> field : message.properties()) {
                if (!field.getKey().equals("role") && !field.getKey().equals("content") && !field.getValue().isNull()) {
                    return unsupported(where + "." + field.getKey(), provider);
                }
            }
            JsonNode content = message.path("content");
            if (content.isArray()) {
                for (int p = 0; p < content.size(); p++) {
                    JsonNode part = content.get(p);
                    if (!"text".equals(part.path("type").asText()) || !part.path("text").isTextual()) {
                        return unsupported(where + ".content[" + p + "]" + (part.has("type")
                                ? " (" + part.path("type").asText() + ")" : ""), provider);
                    }
                }
            } else if (!content.isTextual()) {
                return RequestRefused.missing(where + ".content");
            }
        }
        return null;
    }

    /** Reads a request that {@link #check} accepted. */
    public static TextChat read(JsonNode request) {
        List<Message> messages = new ArrayList<>();
        for (JsonNode message : request.path("messages")) {
            String role = message.path("role").asText().toLowerCase(Locale.ROOT);
            JsonNode content = message.path("content");
            String text;
            if (content.isArray()) {
                StringBuilder joined = new StringBuilder();
                for (JsonNode part : content) {
                    if (!joined.isEmpty()) {
                        joined.append('\n');
                    }
                    joined.append(part.path("text").asText());
                }
                text = joined.toString();
            } else {
                text = content.asText();
            }
            messages.add(new Message(role.equals("developer") ? "system" : role, text));
        }
        JsonNode stop = request.path("stop");
        List<String> stops = new ArrayList<>();
        if (stop.isTextual()) {
            stops.add(stop.asText());
        } else if (stop.isArray()) {
            stop.forEach(item -> stops.add(item.asText()));
        }
        JsonNode cap = request.hasNonNull("max_completion_tokens") ? request.get("max_completion_tokens")
                : request.get("max_tokens");
        return new TextChat(List.copyOf(messages),
                request.path("temperature").isNumber() ? request.get("temperature").asDouble() : null,
                cap != null && cap.canConvertToLong() ? cap.asLong() : null,
                request.path("top_p").isNumber() ? request.get("top_p").asDouble() : null,
                List.copyOf(stops),
                request.path("seed").canConvertToLong() ? request.get("seed").asLong() : null,
                request.path("stream").asBoolean(false),
                request.path("stream_options").path("include_usage").asBoolean(false));
    }

    private static String normalized(JsonNode value) {
        if (value.isNumber()) {
            return value.decimalValue().stripTrailingZeros().toPlainString();
        }
        return value.asText();
    }

    private static RequestRefused unsupported(String param, String provider) {
        return RequestRefused.unsupported(param, "'" + param + "' has no counterpart on " + provider
                + ", which serves this model: it is refused rather than dropped.");
    }
}
