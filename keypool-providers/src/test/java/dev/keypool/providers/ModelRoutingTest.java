package dev.keypool.providers;

import static dev.keypool.providers.Keys.GEMINI_0;
import static dev.keypool.providers.Keys.OPENAI_0;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.keypool.config.Provider;
import dev.keypool.config.WindowLimits;
import dev.keypool.providers.fake.FakeGemini;
import dev.keypool.providers.fake.FakeOllama;
import dev.keypool.providers.fake.FakeOpenAi;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

class ModelRoutingTest {

    private static FakeOpenAi openai;
    private static FakeGemini gemini;
    private static FakeOllama ollama;
    private static TestPool pool;

    @BeforeAll
    static void start() {
        openai = FakeOpenAi.start();
        gemini = FakeGemini.start();
        ollama = FakeOllama.start();
        ollama.setModels("llama3.2:latest", "qwen3:8b");
        pool = TestPool.builder().ollama(ollama).ollamaModel("phi4")
                .configure(config -> config
                        .baseUrl(Provider.OPENAI, openai.baseUrl())
                        .addKey(Provider.OPENAI, OPENAI_0, "my-azure-deployment", WindowLimits.NONE)
                        .baseUrl(Provider.GEMINI, gemini.baseUrl())
                        .addKey(Provider.GEMINI, GEMINI_0, "learnlm-2.0-flash-experimental", WindowLimits.NONE))
                .build();
    }

    @AfterAll
    static void stop() {
        pool.close();
        openai.close();
        gemini.close();
        ollama.close();
    }

    private static ModelRoute route(String model) {
        return pool.llm.route(model);
    }

    @Test
    void route_autoAndNothing_goByPriority() {
        assertThat(route(null)).isEqualTo(ModelRoute.AUTO);
        assertThat(route("")).isEqualTo(ModelRoute.AUTO);
        assertThat(route("auto")).isEqualTo(ModelRoute.AUTO);
        assertThat(route(" AUTO ").isAuto()).isTrue();
    }

    @Test
    void route_providerSlashModel_isExplicit() {
        assertThat(route("openai/gpt-4o")).isEqualTo(new ModelRoute(Provider.OPENAI, "gpt-4o"));
        assertThat(route("gemini/gemini-2.5-pro")).isEqualTo(new ModelRoute(Provider.GEMINI, "gemini-2.5-pro"));
        assertThat(route("ollama/hf.co/bartowski/Llama-3.2-1B-Instruct-GGUF"))
                .isEqualTo(new ModelRoute(Provider.OLLAMA, "hf.co/bartowski/Llama-3.2-1B-Instruct-GGUF"));
        assertThat(route("openai/")).isEqualTo(new ModelRoute(Provider.OPENAI, null));
    }

    @Test
    void route_bareProviderName_isThatProviderWithEachKeysModel() {
        assertThat(route("gemini")).isEqualTo(new ModelRoute(Provider.GEMINI, null));
        assertThat(route("OpenAI")).isEqualTo(new ModelRoute(Provider.OPENAI, null));
        assertThat(route("ollama")).isEqualTo(new ModelRoute(Provider.OLLAMA, null));
    }

    @Test
    void route_geminiNames_goToGemini() {
        assertThat(route("gemini-2.5-flash")).isEqualTo(new ModelRoute(Provider.GEMINI, "gemini-2.5-flash"));
        assertThat(route("gemini-1.5-pro-latest")).isEqualTo(new ModelRoute(Provider.GEMINI, "gemini-1.5-pro-latest"));
        assertThat(route("models/gemini-2.0-flash")).isEqualTo(new ModelRoute(Provider.GEMINI, "gemini-2.0-flash"));
    }

    @Test
    void route_openAiNames_goToOpenAi() {
        for (String model : new String[] {"gpt-4o", "gpt-4o-mini", "gpt-3.5-turbo", "o1", "o3-mini", "o4-mini",
                "chatgpt-4o-latest", "ft:gpt-4o-mini-2024-07-18:acme::9abc"}) {
            assertThat(route(model)).as(model).isEqualTo(new ModelRoute(Provider.OPENAI, model));
        }
    }

    @Test
    void route_modelsConfiguredOnKeys_goToThoseKeysProvider() {
        assertThat(route("my-azure-deployment")).isEqualTo(new ModelRoute(Provider.OPENAI, "my-azure-deployment"));
        assertThat(route("learnlm-2.0-flash-experimental"))
                .isEqualTo(new ModelRoute(Provider.GEMINI, "learnlm-2.0-flash-experimental"));
    }

    @Test
    void route_ollamaModels_goToOllama() {
        assertThat(route("qwen3:8b")).isEqualTo(new ModelRoute(Provider.OLLAMA, "qwen3:8b"));
        assertThat(route("llama3.2")).isEqualTo(new ModelRoute(Provider.OLLAMA, "llama3.2"));
        assertThat(route("phi4")).isEqualTo(new ModelRoute(Provider.OLLAMA, "phi4"));
        assertThat(route("mistral:7b")).isEqualTo(new ModelRoute(Provider.OLLAMA, "mistral:7b"));
    }

    @Test
    void route_unknownModels_andSearch_areUnknown() {
        assertThatThrownBy(() -> route("claude-3-opus")).isInstanceOf(UnknownModelException.class)
                .hasMessageContaining("claude-3-opus")
                .extracting(e -> ((UnknownModelException) e).model()).isEqualTo("claude-3-opus");
        assertThatThrownBy(() -> route("serp/google")).isInstanceOf(UnknownModelException.class);
    }

    @Test
    void models_listsEachConfiguredModelAndWhatOllamaHas() {
        assertThat(pool.llm.models()).containsExactly(
                new ModelInfo("my-azure-deployment", Provider.OPENAI),
                new ModelInfo("learnlm-2.0-flash-experimental", Provider.GEMINI),
                new ModelInfo("llama3.2:latest", Provider.OLLAMA),
                new ModelInfo("qwen3:8b", Provider.OLLAMA));
    }
}
