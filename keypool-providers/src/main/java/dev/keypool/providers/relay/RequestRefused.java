package dev.keypool.providers.relay;

/**
 * A request keypool refuses before any provider sees it: it cannot be read, or it asks for what
 * the chosen provider cannot carry. The gateway answers it in the caller's protocol's error shape.
 *
 * @see #param() the request field at fault, or {@code null}
 */
public final class RequestRefused extends RuntimeException {

    private final int status;
    private final String code;
    private final String param;

    public RequestRefused(int status, String code, String param, String message) {
        super(message, null, false, false);
        this.status = status;
        this.code = code;
        this.param = param;
    }

    /** A 400 for a field that is missing or not of the right kind. */
    public static RequestRefused invalid(String param, String message) {
        return new RequestRefused(400, "invalid_value", param, message);
    }

    /** A 400 for a required field that is absent. */
    public static RequestRefused missing(String param) {
        return new RequestRefused(400, "missing_required_parameter", param,
                "Missing required parameter: '" + param + "'.");
    }

    /** A 400 for a request that is not JSON, or not a JSON object. */
    public static RequestRefused notJson(String what) {
        return new RequestRefused(400, "invalid_json", null, what);
    }

    /** A 400 for a parameter the chosen provider has no counterpart for. */
    public static RequestRefused unsupported(String param, String message) {
        return new RequestRefused(400, "unsupported_parameter", param, message);
    }

    public int status() {
        return status;
    }

    public String code() {
        return code;
    }

    public String param() {
        return param;
    }
}
