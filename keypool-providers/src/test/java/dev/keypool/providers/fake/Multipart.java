package dev.keypool.providers.fake;

import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Locale;

/** The parts of a {@code multipart/form-data} body (RFC 7578), as an upload endpoint reads them. */
final class Multipart {

    /** One part: its form field name, the file name if it is a file, its content type and bytes. */
    record Part(String name, String filename, String contentType, byte[] data) {

        String text() {
            return new String(data, StandardCharsets.UTF_8);
        }
    }

    private Multipart() {
    }

    /** The parts, or an empty list when the request is not multipart or has no boundary. */
    static List<Part> parse(String contentType, byte[] body) {
        String boundary = boundary(contentType);
        if (boundary == null) {
            return List.of();
        }
        byte[] delimiter = ("--" + boundary).getBytes(StandardCharsets.ISO_8859_1);
        List<Part> parts = new ArrayList<>();
        int at = indexOf(body, delimiter, 0);
        while (at >= 0) {
            int start = at + delimiter.length;
            if (start + 1 < body.length && body[start] == '-' && body[start + 1] == '-') {
                break;
            }
            start = skipLineBreak(body, start);
            int next = indexOf(body, delimiter, start);
            if (next < 0) {
                break;
            }
            int end = next;
            if (end >= 2 && body[end - 2] == '\r' && body[end - 1] == '\n') {
                end -= 2;
            }
            Part part = part(Arrays.copyOfRange(body, start, end));
            if (part != null) {
                parts.add(part);
            }
            at = next;
        }
        return parts;
    }

    private static Part part(byte[] raw) {
        byte[] separator = "\r\n\r\n".getBytes(StandardCharsets.ISO_8859_1);
        int split = indexOf(raw, separator, 0);
        if (split < 0) {
            return null;
        }
        String head = new String(raw, 0, split, StandardCharsets.UTF_8);
        String name = null;
        String filename = null;
        String type = null;
        for (String line : head.split("\r\n")) {
            String lower = line.toLowerCase(Locale.ROOT);
            if (lower.startsWith("content-disposition:")) {
                name = attribute(line, "name");
                filename = attribute(line, "filename");
            } else if (lower.startsWith("content-type:")) {
                type = line.substring(line.indexOf(':') + 1).trim();
            }
        }
        return new Part(name, filename, type, Arrays.copyOfRange(raw, split + separator.length, raw.length));
    }

    private static String attribute(String header, String attribute) {
        for (String piece : header.split(";")) {
            String trimmed = piece.trim();
            if (trimmed.startsWith(attribute + "=")) {
                String value = trimmed.substring(attribute.length() + 1);
                return value.startsWith("\"") && value.endsWith("\"") && value.length() >= 2
                        ? value.substring(1, value.length() - 1) : value;
            }
        }
        return null;
    }

    private static String boundary(String contentType) {
        if (contentType == null || !contentType.toLowerCase(Locale.ROOT).startsWith("multipart/form-data")) {
            return null;
        }
        String boundary = attribute(contentType, "boundary");
        return boundary == null || boundary.isEmpty() ? null : boundary;
    }

    private static int skipLineBreak(byte[] body, int at) {
        if (at + 1 < body.length && body[at] == '\r' && body[at + 1] == '\n') {
            return at + 2;
        }
        return at < body.length && body[at] == '\n' ? at + 1 : at;
    }

    private static int indexOf(byte[] haystack, byte[] needle, int from) {
        outer:
        for (int i = Math.max(0, from); i <= haystack.length - needle.length; i++) {
            for (int j = 0; j < needle.length; j++) {
                if (haystack[i + j] != needle[j]) {
                    continue outer;
                }
            }
            return i;
        }
        return -1;
    }
}
