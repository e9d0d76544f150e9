package dev.keypool.providers;

import java.util.Arrays;
import java.util.Locale;
import java.util.Objects;

/**
 * One part of a message's content: text, or an image. Immutable.
 *
 * <p>An image is either inline (its bytes and MIME type, which every provider takes) or a URL, which
 * only OpenAI fetches: keypool fetches no caller-supplied URL (a server-side request forgery risk),
 * so Gemini and Ollama refuse an image by URL rather than answer without it.
 */
public sealed interface ContentPart permits ContentPart.Text, ContentPart.Image {

    static Text text(String text) {
        return new Text(text);
    }

    /** An image inline: {@code mimeType} such as {@code image/png}, and its bytes. */
    static Image image(String mimeType, byte[] data) {
        return new Image(mimeType, data, null);
    }

    /** An image by URL ({@code https://…}): OpenAI only. */
    static Image imageUrl(String url) {
        return new Image(null, null, url);
    }

    record Text(String text) implements ContentPart {

        public Text {
            if (text == null) {
                throw new IllegalArgumentException("a text part's text must not be null");
            }
        }
    }

    /**
     * An image: {@code mimeType} and {@code data} when it is inline, else {@code url}.
     *
     * @param data the bytes (a copy is kept, and handed out)
     */
    record Image(String mimeType, byte[] data, String url) implements ContentPart {

        public Image {
            if (url != null) {
                if (mimeType != null || data != null) {
                    throw new IllegalArgumentException("an image is either inline (mime type and data) or a URL, not both");
                }
                String scheme = url.toLowerCase(Locale.ROOT);
                if (!scheme.startsWith("https://") && !scheme.startsWith("http://")) {
                    throw new IllegalArgumentException("an image URL must be http(s), was '" + url + "'");
                }
            } else {
                if (mimeType == null || !mimeType.toLowerCase(Locale.ROOT).startsWith("image/")) {
                    throw new IllegalArgumentException("an inline image needs an image/* mime type, was '" + mimeType + "'");
                }
                if (data == null || data.length == 0) {
                    throw new IllegalArgumentException("an inline image needs its bytes");
                }
                mimeType = mimeType.toLowerCase(Locale.ROOT);
                data = data.clone();
            }
        }

        /** Whether the image travels with the request (else it is a URL). */
        public boolean inline() {
            return url == null;
        }

        @Override
        public byte[] data() {
            return data == null ? null : data.clone();
        }

        @Override
        public boolean equals(Object other) {
            return other instanceof Image image && Objects.equals(mimeType, image.mimeType)
                    && Arrays.equals(data, image.data) && Objects.equals(url, image.url);
        }

        @Override
        public int hashCode() {
            return Objects.hash(mimeType, Arrays.hashCode(data), url);
        }

        @Override
        public String toString() {
            return url != null ? "Image[" + url + "]" : "Image[" + mimeType + ", " + data.length + " bytes]";
        }
    }
}
