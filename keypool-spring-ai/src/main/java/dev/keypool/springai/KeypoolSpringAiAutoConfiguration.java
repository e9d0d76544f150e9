package dev.keypool.springai;

import dev.keypool.adapter.RelayClient;
import org.springframework.ai.openai.http.okhttp.OpenAiHttpClientBuilderCustomizer;
import org.springframework.boot.autoconfigure.AutoConfiguration;
import org.springframework.boot.autoconfigure.condition.ConditionalOnBean;
import org.springframework.boot.autoconfigure.condition.ConditionalOnClass;
import org.springframework.boot.autoconfigure.condition.ConditionalOnMissingBean;
import org.springframework.context.annotation.Bean;

/**
 * Spring AI's OpenAI models pool keys as soon as this module and the keypool starter are on the
 * class path: Spring AI applies every {@link OpenAiHttpClientBuilderCustomizer} bean to the HTTP
 * client of each OpenAI model it builds (chat, embedding, image, audio, moderation), and this one
 * adds {@link KeypoolOkHttpInterceptor}. Set {@code spring.ai.openai.api-key} to any placeholder:
 * the pooled key replaces it.
 */
@AutoConfiguration(afterName = "dev.keypool.spring.KeypoolAutoConfiguration",
        beforeName = {"org.springframework.ai.model.openai.autoconfigure.OpenAiChatAutoConfiguration",
                "org.springframework.ai.model.openai.autoconfigure.OpenAiEmbeddingAutoConfiguration"})
@ConditionalOnClass(OpenAiHttpClientBuilderCustomizer.class)
public class KeypoolSpringAiAutoConfiguration {

    @Bean
    @ConditionalOnBean(RelayClient.class)
    @ConditionalOnMissingBean(name = "keypoolOpenAiHttpClientBuilderCustomizer")
    OpenAiHttpClientBuilderCustomizer keypoolOpenAiHttpClientBuilderCustomizer(RelayClient client) {
        return customizer(client);
    }

    /** The customizer, for an application that builds its Spring AI clients itself. */
    public static OpenAiHttpClientBuilderCustomizer customizer(RelayClient client) {
        KeypoolOkHttpInterceptor interceptor = new KeypoolOkHttpInterceptor(client);
        return builder -> builder.interceptor(interceptor);
    }
}
