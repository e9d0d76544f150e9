package dev.keypool.providers.relay;

import java.util.List;
import java.util.Locale;
import java.util.Objects;

/** One HTTP header as it was received or is to be sent; names compare ignoring case. */
public record Header(String name, String value) {

    public Header {
        Objects.requireNonNull(name, "name");
        Objects.requireNonNull(value, "value");
    }

    /** The first value of {@code name} among {@code headers}, or {@code null}. */
    public static String first(List<Header> headers, String name) {
        for (Header header : headers) {
            if (header.name.equalsIgnoreCase(name)) {
                return header.value;
            }
        }
        return null;
    }

    /** The name in lower case, as HTTP/2 and most logs write it. */
    public String lowerName() {
        return name.toLowerCase(Locale.ROOT);
    }
}
