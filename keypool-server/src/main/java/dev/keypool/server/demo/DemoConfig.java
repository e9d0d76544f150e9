package dev.keypool.server.demo;

import dev.keypool.config.KeypoolConfig;
import dev.keypool.config.Provider;
import dev.keypool.config.WindowLimits;
import java.util.List;

/**
 * DEMO ONLY: the pool {@code --demo} runs: made-up keys with small limits, so that simulated
 * traffic fills them in a minute, on the {@link DemoUpstream}. Keys configured in the environment
 * are ignored in demo mode; where to listen, the tokens and the data directory are kept.
 */
public final class DemoConfig {

    /** Settings carried over from the real configuration. */
    private static final List<String> KEPT_SETTINGS = List.of("KEYPOOL_HOST", "KEYPOOL_PORT", "KEYPOOL_ADMIN_TOKEN",
            "KEYPOOL_CLIENT_TOKENS", "KEYPOOL_MAX_BODY_BYTES", "KEYPOOL_ALLOW_PUBLIC", "KEYPOOL_DRAIN_SECONDS",
            "KEYPOOL_DEFAULT_MAX_TOKENS");

    private DemoConfig() {
    }

    public static KeypoolConfig of(KeypoolConfig real, String upstreamUrl) {
        KeypoolConfig.Builder demo = KeypoolConfig.builder()
                .addKey(Provider.OPENAI, "sk-demo-openai-0-DEMO.0000", "gpt-4o", WindowLimits.of(3_000, 150_000))
                .addKey(Provider.OPENAI, "sk-demo-openai-1-DEMO.1111", "gpt-4o", WindowLimits.of(3_000, 150_000))
                .addKey(Provider.OPENAI, "sk-demo-openai-2-DEMO.2222", "gpt-4o-mini", WindowLimits.of(5_000, 150_000))
                .addKey(Provider.GEMINI, "AIza-demo-gemini-0-DEMO.0000", "gemini-2.5-flash", WindowLimits.of(2_500, 100_000))
                .addKey(Provider.GEMINI, "AIza-demo-gemini-1-DEMO.1111", "gemini-2.5-flash", WindowLimits.of(2_500, 100_000))
                .addKey(Provider.SERP, "serp-demo-0-DEMO.0000", null, WindowLimits.of(6, 500))
                .addKey(Provider.SERP, "serp-demo-1-DEMO.1111", null, WindowLimits.of(6, 500))
                .baseUrl(Provider.OPENAI, upstreamUrl + "/v1")
                .baseUrl(Provider.GEMINI, upstreamUrl)
                .baseUrl(Provider.SERP, upstreamUrl)
                .baseUrl(Provider.OLLAMA, upstreamUrl)
                .ollamaModel("llama3.2")
                .providerPriority(List.of(Provider.GEMINI, Provider.OPENAI, Provider.OLLAMA))
                .dataDir(real.dataDir());
        for (String name : KEPT_SETTINGS) {
            String value = real.setting(name);
            if (value != null) {
                demo.setting(name, value);
            }
        }
        return demo.build();
    }
}
