package dev.keypool.server;

import java.util.List;
import java.util.Locale;

/**
 * Which media types a request body may have, by path. JSON everywhere (or a {@code +json} type),
 * so that an HTML form or a {@code text/plain} fetch, which a web page may send to any address
 * without asking first, is not read as an API call (415); {@code multipart/form-data} also where
 * the OpenAI API takes uploads; anything on Gemini's upload paths, which carry a file's own bytes.
 * A request without a body is not checked.
 *
 * <table>
 *   <caption>Bodies accepted besides JSON</caption>
 *   <tr><th>path (and below it)</th><th>also</th></tr>
 *   <tr><td>{@code /v1/files}, {@code /v1/uploads}</td><td>multipart/form-data</td></tr>
 *   <tr><td>{@code /v1/audio/transcriptions}, {@code /v1/audio/translations}</td><td>multipart/form-data</td></tr>
 *   <tr><td>{@code /v1/images/edits}, {@code /v1/images/variations}</td><td>multipart/form-data</td></tr>
 *   <tr><td>{@code /v1/containers} (files of code-interpreter containers)</td><td>multipart/form-data</td></tr>
 *   <tr><td>{@code /upload/} (Gemini's media uploads)</td><td>any type</td></tr>
 *   <tr><td>{@code /api/blobs/} (Ollama's model files, when its management is open)</td><td>any type</td></tr>
 * </table>
 */
final class BodyTypes {

    /** What a path accepts beyond JSON. */
    private enum Also { MULTIPART, ANY }

    private record Rule(String path, Also also) {

        boolean matches(String requestPath) {
            return requestPath.startsWith(path) && (requestPath.length() == path.length() || path.endsWith("/")
                    || requestPath.charAt(path.length()) == '/');
        }
    }

    private static final List<Rule> RULES = List.of(
            new Rule("/v1/files", Also.MULTIPART),
            new Rule("/v1/uploads", Also.MULTIPART),
            new Rule("/v1/audio/transcriptions", Also.MULTIPART),
            new Rule("/v1/audio/translations", Also.MULTIPART),
            new Rule("/v1/images/edits", Also.MULTIPART),
            new Rule("/v1/images/variations", Also.MULTIPART),
            new Rule("/v1/containers", Also.MULTIPART),
            new Rule("/upload/", Also.ANY),
            new Rule("/api/blobs/", Also.ANY));

    private BodyTypes() {
    }

    /**
     * Whether a body of {@code contentType} ({@code null}: none was sent) may go to {@code path}.
     */
    static boolean accepts(String path, String contentType) {
        Also also = null;
        for (Rule rule : RULES) {
            if (rule.matches(path)) {
                also = rule.also();
                break;
            }
        }
        if (also == Also.ANY) {
            return true;
        }
        if (contentType == null) {
            return false;
        }
        String type = mediaType(contentType);
        return isJson(type) || also == Also.MULTIPART && type.equals("multipart/form-data");
    }

    /** What the caller is told a path accepts. */
    static String expected(String path) {
        for (Rule rule : RULES) {
            if (rule.matches(path)) {
                return rule.also() == Also.ANY ? "any type" : "application/json or multipart/form-data";
            }
        }
        return "application/json";
    }

    private static boolean isJson(String type) {
        return type.equals("application/json") || type.startsWith("application/") && type.endsWith("+json");
    }

    private static String mediaType(String contentType) {
        int semicolon = contentType.indexOf(';');
        return (semicolon < 0 ? contentType : contentType.substring(0, semicolon)).trim().toLowerCase(Locale.ROOT);
    }
}
