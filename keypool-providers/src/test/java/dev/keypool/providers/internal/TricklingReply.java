package dev.keypool.providers.internal;

import dev.keypool.providers.fake.Reply;
import java.time.Duration;

/**
 * An answer that trickles: a whole chat completion written one byte every 50 ms, so that each read
 * waits far less than a short timeout and the whole body (some 15 s) far more. It stops writing when
 * the fake closes.
 */
public final class TricklingReply {

    private static final String COMPLETION = "{\"id\":\"chatcmpl-1\",\"object\":\"chat.completion\",\"model\":\"gpt-4o\","
            + "\"choices\":[{\"index\":0,\"message\":{\"role\":\"assistant\",\"content\":\"late\"},"
            + "\"finish_reason\":\"stop\"}],\"usage\":{\"prompt_tokens\":1,\"completion_tokens\":1}}";

    private TricklingReply() {
    }

    public static Reply completion() {
        return exchange -> {
            exchange.startStream(200, "application/json");
            for (char c : COMPLETION.toCharArray()) {
                exchange.write(String.valueOf(c));
                if (!exchange.pause(Duration.ofMillis(50))) {
                    return;
                }
            }
            exchange.finish();
        };
    }
}
