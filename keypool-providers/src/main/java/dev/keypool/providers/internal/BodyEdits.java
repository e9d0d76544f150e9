package dev.keypool.providers.internal;

import java.io.ByteArrayOutputStream;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;

/**
 * Changes to a caller's body made in place, by byte range, so that everything else goes to the
 * provider exactly as the caller wrote it (field order, spacing, numbers' spelling).
 */
public final class BodyEdits {

    private record Edit(int start, int end, byte[] replacement) {
    }

    private final List<Edit> edits = new ArrayList<>(2);

    /** Replaces {@code [start, end)} with {@code text}. */
    public BodyEdits replace(int start, int end, String text) {
        edits.add(new Edit(start, end, text.getBytes(StandardCharsets.UTF_8)));
        return this;
    }

    /** Inserts {@code text} at {@code offset}. */
    public BodyEdits insert(int offset, String text) {
        return replace(offset, offset, text);
    }

    /** Adds {@code other}'s edits to these. */
    public BodyEdits merge(BodyEdits other) {
        edits.addAll(other.edits);
        return this;
    }

    public boolean isEmpty() {
        return edits.isEmpty();
    }

    /** The body with the edits applied; the same array when there are none. Edits must not overlap. */
    public byte[] apply(byte[] body) {
        if (edits.isEmpty()) {
            return body;
        }
        List<Edit> ordered = new ArrayList<>(edits);
        ordered.sort(Comparator.comparingInt(Edit::start));
        ByteArrayOutputStream out = new ByteArrayOutputStream(body.length + 64);
        int at = 0;
        for (Edit edit : ordered) {
            out.write(body, at, edit.start - at);
            out.writeBytes(edit.replacement);
            at = edit.end;
        }
        out.write(body, at, body.length - at);
        return out.toByteArray();
    }

    /** A JSON string literal of {@code value}. */
    public static String quoted(String value) {
        StringBuilder json = new StringBuilder(value.length() + 2).append('"');
        for (int i = 0; i < value.length(); i++) {
            char c = value.charAt(i);
            switch (c) {
                case '"' -> json.append("\\\"");
                case '\\' -> json.append("\\\\");
                case '\n' -> json.append("\\n");
                case '\r' -> json.append("\\r");
                case '\t' -> json.append("\\t");
                default -> {
                    if (c < 0x20) {
                        json.append(String.format("\\u%04x", (int) c));
                    } else {
                        json.append(c);
                    }
                }
            }
        }
        return json.append('"').toString();
    }
}
