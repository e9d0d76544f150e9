package dev.keypool.providers.fake;

import com.fasterxml.jackson.databind.JsonNode;
import java.util.ArrayList;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;

/**
 * The 400s OpenAI answers before generating anything, with its {@code message}, {@code param} and
 * {@code code}. Messages are OpenAI's verbatim where recorded traffic shows them (an unknown role, a
 * missing or null {@code content}, a {@code tool} message answering no tool call, an unanswered tool
 * call, a missing required parameter, an empty {@code messages}); where none was found the wording
 * follows the same family ({@code Invalid value: … Supported values are: …} for a content part type
 * the role does not take). OpenAI's {@code param} for the tool-sequence errors is written
 * {@code messages.[3].role}, with the dot, and that is kept.
 */
final class OpenAiValidation {

    private static final String ROLES = "'system', 'assistant', 'user', 'function', 'tool', and 'developer'";
    private static final Map<String, List<String>> PART_TYPES = Map.of(
            "user", List.of("text", "image_url", "input_audio", "file"),
            "system", List.of("text"),
            "developer", List.of("text"),
            "tool", List.of("text"),
            "assistant", List.of("text", "refusal"));

    private OpenAiValidation() {
    }

    /** The refusal of a Chat Completions request, or {@code null} when OpenAI would take it. */
    static Reply chat(JsonNode body) {
        Reply model = model(body);
        if (model != null) {
            return model;
        }
        JsonNode messages = body.path("messages");
        if (!messages.isArray()) {
            return invalid("Missing required parameter: 'messages'.", "messages", "missing_required_parameter");
        }
        if (messages.isEmpty()) {
            return invalid("Invalid 'messages': empty array. Expected an array with minimum length 1, but got an empty"
                    + " array instead.", "messages", "empty_array");
        }
        for (int i = 0; i < messages.size(); i++) {
            Reply refused = message(messages.get(i), i);
            if (refused != null) {
                return refused;
            }
        }
        return toolSequence(messages);
    }

    /** A request without {@code model}, as every generation endpoint refuses it. */
    static Reply model(JsonNode body) {
        return body.path("model").asText("").isEmpty()
                ? invalid("you must provide a model parameter", null, null) : null;
    }

    /** A missing required field of the body. */
    static Reply required(JsonNode body, String field) {
        JsonNode value = body.path(field);
        return value.isMissingNode() || value.isNull()
                ? invalid("Missing required parameter: '" + field + "'.", field, "missing_required_parameter") : null;
    }

    private static Reply message(JsonNode message, int i) {
        String at = "messages[" + i + "]";
        if (!message.isObject()) {
            return invalid("Invalid type for '" + at + "': expected an object, but got " + kind(message) + " instead.",
                    at, "invalid_type");
        }
        JsonNode roleNode = message.path("role");
        if (roleNode.isMissingNode()) {
            return missing(at + ".role");
        }
        String role = roleNode.asText();
        if (!roleNode.isTextual() || !List.of("system", "assistant", "user", "function", "tool", "developer").contains(role)) {
            return invalid("Invalid value: '" + role + "'. Supported values are: " + ROLES + ".", at + ".role",
                    "invalid_value");
        }
        boolean callsTools = role.equals("assistant")
                && (message.path("tool_calls").size() > 0 || message.path("function_call").isObject());
        JsonNode content = message.path("content");
        if (content.isMissingNode() && !callsTools) {
            return missing(at + ".content");
        }
        if (content.isNull() && !callsTools) {
            return invalid("Invalid value for 'content': expected a string, got null.", "messages.[" + i + "].content",
                    null);
        }
        if (content.isArray()) {
            for (int j = 0; j < content.size(); j++) {
                Reply refused = part(content.get(j), role, at + ".content[" + j + "]");
                if (refused != null) {
                    return refused;
                }
            }
        }
        if (role.equals("tool") && message.path("tool_call_id").asText("").isEmpty()) {
            return missing(at + ".tool_call_id");
        }
        JsonNode calls = message.path("tool_calls");
        for (int k = 0; k < calls.size(); k++) {
            if (calls.get(k).path("id").asText("").isEmpty()) {
                return missing(at + ".tool_calls[" + k + "].id");
            }
        }
        return null;
    }

    private static Reply part(JsonNode part, String role, String at) {
        JsonNode type = part.path("type");
        if (type.isMissingNode()) {
            return missing(at + ".type");
        }
        List<String> allowed = PART_TYPES.get(role);
        if (allowed != null && !allowed.contains(type.asText())) {
            return invalid("Invalid value: '" + type.asText() + "'. Supported values are: " + listed(allowed) + ".",
                    at + ".type", "invalid_value");
        }
        if (type.asText().equals("image_url")) {
            JsonNode url = part.path("image_url").path("url");
            if (!url.isTextual()) {
                return missing(at + ".image_url.url");
            }
            String value = url.asText();
            if (!value.startsWith("https://") && !value.startsWith("http://") && !value.startsWith("data:")) {
                return invalid("Invalid '" + at + ".image_url.url'. Expected a base64-encoded data URL with an image"
                        + " MIME type (e.g. 'data:image/png;base64,aW1nIGJ5dGVzIGhlcmU='), but got a value without the"
                        + " 'data:' prefix.", at + ".image_url.url", "invalid_value");
            }
        }
        return null;
    }

    /**
     * A {@code tool} message must answer a call of the assistant message just before its run of tool
     * messages, and every call of that message must be answered before anything else is said.
     */
    private static Reply toolSequence(JsonNode messages) {
        Set<String> calls = Set.of();
        Set<String> unanswered = new LinkedHashSet<>();
        int caller = -1;
        boolean answering = false;
        for (int i = 0; i < messages.size(); i++) {
            JsonNode message = messages.get(i);
            String role = message.path("role").asText();
            if (role.equals("tool")) {
                if (!answering) {
                    return invalid("Invalid parameter: messages with role 'tool' must be a response to a preceeding"
                            + " message with 'tool_calls'.", "messages.[" + i + "].role", null);
                }
                String id = message.path("tool_call_id").asText();
                if (!calls.contains(id)) {
                    return invalid("Invalid parameter: 'tool_call_id' of '" + id + "' not found in 'tool_calls' of"
                            + " previous message.", "messages.[" + i + "].tool_call_id", null);
                }
                unanswered.remove(id);
                continue;
            }
            if (answering && !unanswered.isEmpty()) {
                return unanswered(caller, unanswered);
            }
            answering = false;
            if (role.equals("assistant") && message.path("tool_calls").size() > 0) {
                Set<String> ids = new LinkedHashSet<>();
                message.path("tool_calls").forEach(call -> ids.add(call.path("id").asText()));
                calls = ids;
                unanswered = new LinkedHashSet<>(ids);
                caller = i;
                answering = true;
            }
        }
        return answering && !unanswered.isEmpty() ? unanswered(caller, unanswered) : null;
    }

    private static Reply unanswered(int caller, Set<String> ids) {
        return invalid("An assistant message with 'tool_calls' must be followed by tool messages responding to each"
                + " 'tool_call_id'. The following tool_call_ids did not have response messages: "
                + String.join(", ", ids), "messages.[" + caller + "].role", null);
    }

    private static Reply missing(String param) {
        return invalid("Missing required parameter: '" + param + "'.", param, "missing_required_parameter");
    }

    private static Reply invalid(String message, String param, String code) {
        return FakeOpenAi.error(400, message, "invalid_request_error", param, code);
    }

    private static String listed(List<String> values) {
        List<String> quoted = new ArrayList<>();
        values.forEach(value -> quoted.add("'" + value + "'"));
        if (quoted.size() == 1) {
            return quoted.get(0);
        }
        String last = quoted.remove(quoted.size() - 1);
        return String.join(", ", quoted) + (quoted.size() > 1 ? ", and " : " and ") + last;
    }

    private static String kind(JsonNode node) {
        if (node.isTextual()) {
            return "a string";
        }
        if (node.isArray()) {
            return "an array";
        }
        if (node.isNumber()) {
            return "a number";
        }
        if (node.isBoolean()) {
            return "a boolean";
        }
        return "null";
    }
}
