package dev.keypool.providers.internal;

/**
 * Server-sent events as OpenAI and Gemini send them: {@code data:} lines, joined with a newline
 * when an event has several, dispatched at a blank line; {@code event:}, {@code id:},
 * {@code retry:} and {@code :} comment lines are ignored. Neither provider names its events.
 */
public final class SseReader {

    private final LineSource lines;

    public SseReader(LineSource lines) {
        this.lines = lines;
    }

    /** The data of the next event, or {@code null} when the stream has ended. */
    public String nextData() {
        StringBuilder data = null;
        String line;
        while ((line = lines.readLine()) != null) {
            if (line.isEmpty()) {
                if (data != null) {
                    return data.toString();
                }
                continue;
            }
            if (line.startsWith("data:")) {
                String value = line.substring(5);
                if (value.startsWith(" ")) {
                    value = value.substring(1);
                }
                if (data == null) {
                    data = new StringBuilder(value);
                } else {
                    data.append('\n').append(value);
                }
            }
        }
        return data == null ? null : data.toString();
    }
}
