package dev.keypool.config;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.catchThrowableOfType;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.time.ZoneId;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;
import org.junit.jupiter.params.provider.ValueSource;

class EnvConfigLoaderTest {

    /** The seed's .env, exactly as its guide prints it. */
    static final String SEED_ENV = """
            # OpenAI Keys (comma-separated)
            OPENAI_API_KEYS=sk-proj-TEST.key1,sk-proj-TEST.key2,sk-proj-TEST.key3
            OPENAI_ORG_ID=org-your-org

            # OpenAI Models (per key index)
            OPENAI_MODEL_0=gpt-4o
            OPENAI_MODEL_1=gpt-4o
            OPENAI_MODEL_2=gpt-4o-mini

            # OpenAI Token Limits (per key index)
            OPENAI_MAX_TOKENS_PER_MINUTE_0=90000
            OPENAI_MAX_TOKENS_PER_MINUTE_1=90000
            OPENAI_MAX_TOKENS_PER_MINUTE_2=90000

            OPENAI_MAX_TOKENS_PER_DAY_0=2000000
            OPENAI_MAX_TOKENS_PER_DAY_1=2000000
            OPENAI_MAX_TOKENS_PER_DAY_2=2000000

            # Gemini Keys (comma-separated)
            GEMINI_API_KEYS=AIza-key1,AIza-key2,AIza-key3

            # Gemini Models (per key index)
            GEMINI_MODEL_0=gemini-1.5-pro-latest
            GEMINI_MODEL_1=gemini-1.5-flash-latest
            GEMINI_MODEL_2=gemini-1.5-flash-8b-latest

            # Gemini Token Limits (per key index)
            GEMINI_MAX_TOKENS_PER_MINUTE_0=60000
            GEMINI_MAX_TOKENS_PER_MINUTE_1=60000
            GEMINI_MAX_TOKENS_PER_MINUTE_2=60000

            GEMINI_MAX_TOKENS_PER_DAY_0=1000000
            GEMINI_MAX_TOKENS_PER_DAY_1=1000000
            GEMINI_MAX_TOKENS_PER_DAY_2=1000000

            # SERP Keys (comma-separated)
            SERP_API_KEYS=serp-key1,serp-key2,serp-key3

            # SERP Token Limits (per key index)
            SERP_MAX_TOKENS_PER_MINUTE_0=100
            SERP_MAX_TOKENS_PER_MINUTE_1=100
            SERP_MAX_TOKENS_PER_MINUTE_2=100

            SERP_MAX_TOKENS_PER_DAY_0=100000
            SERP_MAX_TOKENS_PER_DAY_1=100000
            SERP_MAX_TOKENS_PER_DAY_2=100000
            """;

    @TempDir
    Path dir;

    private Path envFile(String content) throws IOException {
        Path file = dir.resolve(".env");
        Files.writeString(file, content);
        return file;
    }

    private static KeypoolConfig fromVariables(String... nameValuePairs) {
        Map<String, String> variables = new HashMap<>();
        for (int i = 0; i < nameValuePairs.length; i += 2) {
            variables.put(nameValuePairs[i], nameValuePairs[i + 1]);
        }
        return EnvConfigLoader.fromVariables(variables);
    }

    private static ConfigException refusal(String... nameValuePairs) {
        ConfigException refusal = catchThrowableOfType(ConfigException.class, () -> fromVariables(nameValuePairs));
        assertThat(refusal).as("loading %s is refused", List.of(nameValuePairs)).isNotNull();
        return refusal;
    }

    // ---- the seed's file ---------------------------------------------------------------------------

    @Test
    void load_seedEnvFile_readsEveryKeyWithItsModelAndLimits() throws IOException {
        KeypoolConfig config = EnvConfigLoader.load(Map.of(), envFile(SEED_ENV));

        assertThat(config.keys(Provider.OPENAI)).extracting(KeyConfig::secret)
                .containsExactly("sk-proj-TEST.key1", "sk-proj-TEST.key2", "sk-proj-TEST.key3");
        assertThat(config.keys(Provider.OPENAI)).extracting(KeyConfig::model)
                .containsExactly("gpt-4o", "gpt-4o", "gpt-4o-mini");
        assertThat(config.keys(Provider.OPENAI)).extracting(KeyConfig::limits)
                .containsOnly(WindowLimits.of(90_000, 2_000_000));
        assertThat(config.openAiOrgId()).isEqualTo("org-your-org");

        assertThat(config.keys(Provider.GEMINI)).extracting(KeyConfig::secret)
                .containsExactly("AIza-key1", "AIza-key2", "AIza-key3");
        assertThat(config.keys(Provider.GEMINI)).extracting(KeyConfig::model)
                .containsExactly("gemini-1.5-pro-latest", "gemini-1.5-flash-latest", "gemini-1.5-flash-8b-latest");
        assertThat(config.keys(Provider.GEMINI)).extracting(KeyConfig::limits)
                .containsOnly(WindowLimits.of(60_000, 1_000_000));

        assertThat(config.keys(Provider.SERP)).extracting(KeyConfig::secret)
                .containsExactly("serp-key1", "serp-key2", "serp-key3");
        assertThat(config.keys(Provider.SERP)).extracting(KeyConfig::model).containsOnlyNulls();
        assertThat(config.keys(Provider.SERP)).extracting(KeyConfig::limits)
                .containsOnly(WindowLimits.of(100, 100_000));

        assertThat(config.keys(Provider.OLLAMA)).isEmpty();
    }

    @Test
    void load_numbersEachKeyByItsPositionInTheList() throws IOException {
        KeypoolConfig config = EnvConfigLoader.load(Map.of(), envFile(SEED_ENV));

        assertThat(config.keys(Provider.GEMINI)).extracting(KeyConfig::id).containsExactly(
                KeyId.of(Provider.GEMINI, 0), KeyId.of(Provider.GEMINI, 1), KeyId.of(Provider.GEMINI, 2));
        assertThat(config.allKeys()).hasSize(9);
    }

    @Test
    void load_anEnvironmentVariableWinsOverTheFile() throws IOException {
        Map<String, String> environment = Map.of(
                "OPENAI_MODEL_0", "gpt-4.1",
                "SERP_MAX_TOKENS_PER_MINUTE_1", "5");

        KeypoolConfig config = EnvConfigLoader.load(environment, envFile(SEED_ENV));

        assertThat(config.keys(Provider.OPENAI).get(0).model()).isEqualTo("gpt-4.1");
        assertThat(config.keys(Provider.OPENAI).get(1).model()).isEqualTo("gpt-4o");
        assertThat(config.keys(Provider.SERP).get(1).limits().perMinute()).isEqualTo(5);
    }

    @Test
    void load_anEnvironmentKeyListReplacesTheFilesList() throws IOException {
        KeypoolConfig config = EnvConfigLoader.load(Map.of("GEMINI_API_KEYS", "AIza-env-key1,AIza-env-key2,AIza-env-key3"),
                envFile(SEED_ENV));

        assertThat(config.keys(Provider.GEMINI)).extracting(KeyConfig::secret)
                .containsExactly("AIza-env-key1", "AIza-env-key2", "AIza-env-key3");
    }

    @Test
    void load_withoutAFile_readsTheEnvironmentAlone() {
        KeypoolConfig config = EnvConfigLoader.load(Map.of("OPENAI_API_KEYS", "sk-proj-TEST.only1"), dir.resolve("missing.env"));

        assertThat(config.keys(Provider.OPENAI)).extracting(KeyConfig::secret).containsExactly("sk-proj-TEST.only1");
    }

    @Test
    void loadRequired_refusesAMissingFile_namingTheOption() {
        ConfigException refusal = catchThrowableOfType(ConfigException.class,
                () -> EnvConfigLoader.loadRequired(Map.of(), dir.resolve("missing.env")));

        assertThat(refusal.variable()).isEqualTo("--env-file");
        assertThat(refusal).hasMessageContaining("missing.env");
    }

    @Test
    void load_malformedLine_namesTheFileAndLine_butNotItsContent() throws IOException {
        Path file = envFile("""
                OPENAI_API_KEYS=sk-proj-TEST.key1
                # a comment
                sk-proj-TEST.pasted-without-a-name
                """);

        ConfigException refusal = catchThrowableOfType(ConfigException.class,
                () -> EnvConfigLoader.load(Map.of(), file));

        assertThat(refusal).isNotNull();
        assertThat(refusal.variable()).isEqualTo(file.toString());
        assertThat(refusal.getMessage()).contains(file.toString()).contains("line 3")
                .doesNotContain("sk-proj-TEST.pasted-without-a-name");
    }

    @Test
    void load_quotedAndSpacedValues_areTrimmed() throws IOException {
        KeypoolConfig config = EnvConfigLoader.load(Map.of(), envFile("""
                OPENAI_API_KEYS="sk-proj-TEST.key1, sk-proj-TEST.key2"
                OPENAI_MAX_TOKENS_PER_MINUTE_1= 500
                """));

        assertThat(config.keys(Provider.OPENAI)).extracting(KeyConfig::secret)
                .containsExactly("sk-proj-TEST.key1", "sk-proj-TEST.key2");
        assertThat(config.keys(Provider.OPENAI).get(1).limits().perMinute()).isEqualTo(500);
    }

    // ---- limits and models -------------------------------------------------------------------------

    @Test
    void fromVariables_aMissingLimitMeansThatWindowIsUnlimited() {
        KeypoolConfig config = fromVariables(
                "OPENAI_API_KEYS", "sk-proj-TEST.key1,sk-proj-TEST.key2",
                "OPENAI_MAX_TOKENS_PER_MINUTE_0", "90000",
                "OPENAI_MAX_TOKENS_PER_DAY_1", "2000000");

        WindowLimits first = config.keys(Provider.OPENAI).get(0).limits();
        WindowLimits second = config.keys(Provider.OPENAI).get(1).limits();
        assertThat(first.perMinute()).isEqualTo(90_000);
        assertThat(first.dayLimited()).isFalse();
        assertThat(second.minuteLimited()).isFalse();
        assertThat(second.perDay()).isEqualTo(2_000_000);
    }

    @Test
    void fromVariables_modelsArePerIndex_andAKeyWithoutOneHasNone() {
        KeypoolConfig config = fromVariables(
                "OPENAI_API_KEYS", "sk-proj-TEST.key1,sk-proj-TEST.key2,sk-proj-TEST.key3",
                "OPENAI_MODEL_0", "gpt-4o",
                "OPENAI_MODEL_2", "gpt-4o-mini");

        assertThat(config.keys(Provider.OPENAI)).extracting(KeyConfig::model)
                .containsExactly("gpt-4o", null, "gpt-4o-mini");
    }

    @ParameterizedTest(name = "{0}={1}")
    @CsvSource({
            "OPENAI_MAX_TOKENS_PER_MINUTE_0, abc",
            "OPENAI_MAX_TOKENS_PER_MINUTE_0, 0",
            "OPENAI_MAX_TOKENS_PER_MINUTE_0, -5",
            "OPENAI_MAX_TOKENS_PER_MINUTE_0, 1.5",
            "OPENAI_MAX_TOKENS_PER_DAY_0, abc",
            "OPENAI_MAX_TOKENS_PER_DAY_0, 0",
            "OPENAI_MAX_TOKENS_PER_DAY_0, -5",
            "OPENAI_MAX_TOKENS_PER_DAY_0, 1.5",
            "GEMINI_MAX_TOKENS_PER_MINUTE_0, abc",
            "SERP_MAX_TOKENS_PER_DAY_0, 0",
            "OPENAI_MAX_TOKENS_PER_DAY_0, 99999999999999999999",
            "OPENAI_MAX_CONCURRENT_0, abc",
            "OPENAI_MAX_CONCURRENT_0, 0",
            "GEMINI_MAX_CONCURRENT_0, -2",
            "SERP_MAX_CONCURRENT_0, 3000000000",
            "OPENAI_WEIGHT_0, 0",
            "OPENAI_WEIGHT_0, 1.5",
            "GEMINI_WEIGHT_0, heavy",
            "OPENAI_MAX_REQUESTS_PER_MINUTE_0, 0",
            "GEMINI_MAX_REQUESTS_PER_MINUTE_0, many",
            "SERP_MAX_REQUESTS_PER_DAY_0, -5",
            "OPENAI_MAX_REQUESTS_PER_DAY_0, 2.5"})
    void fromVariables_refusesALimitThatIsNotAPositiveInteger_namingTheVariable(String variable, String value) {
        ConfigException refusal = refusal(
                "OPENAI_API_KEYS", "sk-proj-TEST.key1", "GEMINI_API_KEYS", "AIza-key1", "SERP_API_KEYS", "serp-key1",
                variable, value);

        assertThat(refusal.variable()).isEqualTo(variable);
        assertThat(refusal).hasMessageStartingWith(variable + ": ")
                .hasMessageContaining("positive integer")
                .hasMessageContaining(value);
    }

    @Test
    void fromVariables_readsEachKeysCapOnRequestsInFlightAndWeight_defaultingToNoCapAndWeightOne() {
        KeypoolConfig config = fromVariables(
                "OPENAI_API_KEYS", "sk-proj-TEST.key1,sk-proj-TEST.key2,sk-proj-TEST.key3",
                "OPENAI_MAX_CONCURRENT_0", "4", "OPENAI_WEIGHT_0", "3",
                "OPENAI_WEIGHT_2", " 2 ",
                "GEMINI_API_KEYS", "AIza-key1", "GEMINI_MAX_CONCURRENT_0", "1",
                "KEYPOOL_SELECTION_STRATEGY", "weighted");

        assertThat(config.keys(Provider.OPENAI)).extracting(KeyConfig::maxConcurrent).containsExactly(4, 0, 0);
        assertThat(config.keys(Provider.OPENAI)).extracting(KeyConfig::capped).containsExactly(true, false, false);
        assertThat(config.keys(Provider.OPENAI)).extracting(KeyConfig::weight).containsExactly(3, 1, 2);
        assertThat(config.keys(Provider.GEMINI)).extracting(KeyConfig::maxConcurrent).containsExactly(1);
        assertThat(config.selectionStrategy()).isEqualTo(SelectionStrategy.WEIGHTED);
    }

    @Test
    void fromVariables_readsEachKeysRequestLimits_besideItsTokenLimits_unsetMeaningUnlimited() {
        KeypoolConfig config = fromVariables(
                "OPENAI_API_KEYS", "sk-proj-TEST.key1,sk-proj-TEST.key2",
                "OPENAI_MAX_TOKENS_PER_MINUTE_0", "90000", "OPENAI_MAX_REQUESTS_PER_MINUTE_0", " 500 ",
                "OPENAI_MAX_REQUESTS_PER_DAY_1", "10000",
                "GEMINI_API_KEYS", "AIza-key1", "GEMINI_MAX_REQUESTS_PER_DAY_0", "1500",
                "SERP_API_KEYS", "serp-key1", "SERP_MAX_REQUESTS_PER_MINUTE_0", "5");

        WindowLimits first = config.keys(Provider.OPENAI).get(0).limits();
        WindowLimits second = config.keys(Provider.OPENAI).get(1).limits();
        assertThat(first.perMinute()).isEqualTo(90_000);
        assertThat(first.requestsPerMinute()).isEqualTo(500);
        assertThat(first.requestDayLimited()).isFalse();
        assertThat(second.requestMinuteLimited()).isFalse();
        assertThat(second.requestsPerDay()).isEqualTo(10_000);
        assertThat(second.minuteLimited()).isFalse();
        assertThat(config.keys(Provider.GEMINI).get(0).limits().requestsPerDay()).isEqualTo(1_500);
        assertThat(config.keys(Provider.SERP).get(0).limits().requestsPerMinute()).isEqualTo(5);
    }

    @ParameterizedTest
    @ValueSource(strings = {"OPENAI_MODEL_3", "OPENAI_MAX_TOKENS_PER_MINUTE_3", "OPENAI_MAX_TOKENS_PER_DAY_7",
            "OPENAI_MAX_CONCURRENT_3", "OPENAI_WEIGHT_5", "OPENAI_MAX_REQUESTS_PER_MINUTE_3",
            "OPENAI_MAX_REQUESTS_PER_DAY_4"})
    void fromVariables_refusesAnIndexWithNoMatchingKey_namingTheVariable(String variable) {
        ConfigException refusal = refusal(
                "OPENAI_API_KEYS", "sk-proj-TEST.key1,sk-proj-TEST.key2,sk-proj-TEST.key3",
                variable, "1000");

        assertThat(refusal.variable()).isEqualTo(variable);
        assertThat(refusal).hasMessageContaining("OPENAI_API_KEYS").hasMessageContaining("3 keys");
    }

    @Test
    void fromVariables_refusesAPerKeyVariableWhenTheProviderHasNoKeys() {
        ConfigException refusal = refusal("GEMINI_MODEL_0", "gemini-1.5-pro-latest");

        assertThat(refusal.variable()).isEqualTo("GEMINI_MODEL_0");
        assertThat(refusal).hasMessageContaining("GEMINI_API_KEYS is not set");
    }

    // ---- key lists ----------------------------------------------------------------------------------

    @ParameterizedTest(name = "[{0}]")
    @ValueSource(strings = {
            "sk-proj-TEST.key1,,sk-proj-TEST.key2",
            "sk-proj-TEST.key1,sk-proj-TEST.key2,",
            ",sk-proj-TEST.key1",
            "sk-proj-TEST.key1, ,sk-proj-TEST.key2"})
    void fromVariables_refusesAnEmptyKeyBetweenCommas_namingTheVariable(String keys) {
        ConfigException refusal = refusal("OPENAI_API_KEYS", keys);

        assertThat(refusal.variable()).isEqualTo("OPENAI_API_KEYS");
        assertThat(refusal).hasMessageContaining("empty");
    }

    @Test
    void fromVariables_refusesADuplicatedKey_namingTheVariableAndShowingItMasked() {
        ConfigException refusal = refusal("GEMINI_API_KEYS", "AIza-key-number-1,AIza-key-number-2,AIza-key-number-1");

        assertThat(refusal.variable()).isEqualTo("GEMINI_API_KEYS");
        assertThat(refusal).hasMessageContaining("entry 2").hasMessageContaining("entry 0")
                .hasMessageContaining(KeyMask.mask("AIza-key-number-1"))
                .hasMessageNotContaining("AIza-key-number-1");
    }

    @Test
    void fromVariables_anEmptyKeyList_meansNoKeys() {
        KeypoolConfig config = fromVariables("OPENAI_API_KEYS", "  ");

        assertThat(config.keys(Provider.OPENAI)).isEmpty();
    }

    // ---- keypool's own variables ---------------------------------------------------------------------

    @Test
    void fromVariables_withNothingSet_usesTheDocumentedDefaults() {
        KeypoolConfig config = EnvConfigLoader.fromVariables(Map.of());

        assertThat(config.providerPriority()).containsExactly(Provider.OLLAMA, Provider.GEMINI, Provider.OPENAI);
        assertThat(config.baseUrl(Provider.OPENAI)).isEqualTo("https://api.openai.com/v1");
        assertThat(config.baseUrl(Provider.GEMINI)).isEqualTo("https://generativelanguage.googleapis.com");
        assertThat(config.baseUrl(Provider.SERP)).isEqualTo("https://serpapi.com");
        assertThat(config.baseUrl(Provider.OLLAMA)).isEqualTo("http://localhost:11434");
        assertThat(config.selectionStrategy()).isEqualTo(SelectionStrategy.LEAST_USED);
        assertThat(config.dayZone()).isEqualTo(ZoneId.of("Z"));
        assertThat(config.openAiOrgId()).isNull();
        assertThat(config.ollamaModel()).isNull();
        assertThat(config.allKeys()).isEmpty();
    }

    @Test
    void fromVariables_takesOllamaHostWithoutAScheme_asOllamasOwnCliDoes() {
        KeypoolConfig config = fromVariables("OLLAMA_HOST", "0.0.0.0:11434");

        assertThat(config.baseUrl(Provider.OLLAMA)).isEqualTo("http://0.0.0.0:11434");
    }

    @Test
    void fromVariables_readsKeypoolsOwnVariables() {
        KeypoolConfig config = fromVariables(
                "OPENAI_BASE_URL", "http://localhost:9999/v1/",
                "OLLAMA_HOST", "http://ollama:11434",
                "OLLAMA_MODEL", "llama3.2",
                "KEYPOOL_PROVIDER_PRIORITY", "gemini, OpenAI",
                "KEYPOOL_SELECTION_STRATEGY", "round-robin",
                "KEYPOOL_DAY_ZONE", "America/Los_Angeles",
                "KEYPOOL_RATE_LIMIT_COOLDOWN_SECONDS", "30",
                "KEYPOOL_SERVER_ERROR_COOLDOWN_SECONDS", "2",
                "KEYPOOL_RESERVATION_TIMEOUT_SECONDS", "120",
                "KEYPOOL_HOST", "0.0.0.0",
                "KEYPOOL_PORT", "9090",
                "KEYPOOL_ADMIN_TOKEN", "admin-secret",
                "KEYPOOL_CLIENT_TOKENS", "a,b",
                "KEYPOOL_REDIS_URL", "redis://localhost:6379",
                "KEYPOOL_FALLBACKS", "gpt-4o=gpt-4o-mini");

        assertThat(config.baseUrl(Provider.OPENAI)).isEqualTo("http://localhost:9999/v1");
        assertThat(config.baseUrl(Provider.OLLAMA)).isEqualTo("http://ollama:11434");
        assertThat(config.ollamaModel()).isEqualTo("llama3.2");
        assertThat(config.providerPriority()).containsExactly(Provider.GEMINI, Provider.OPENAI);
        assertThat(config.selectionStrategy()).isEqualTo(SelectionStrategy.ROUND_ROBIN);
        assertThat(config.dayZone()).isEqualTo(ZoneId.of("America/Los_Angeles"));
        assertThat(config.rateLimitCooldown()).isEqualTo(Duration.ofSeconds(30));
        assertThat(config.serverErrorCooldown()).isEqualTo(Duration.ofSeconds(2));
        assertThat(config.reservationTimeout()).isEqualTo(Duration.ofMinutes(2));
        assertThat(config.fallbacks()).containsEntry("gpt-4o", "gpt-4o-mini");
        // The server's and the Redis store's variables are kept as given, for their modules to read.
        assertThat(config.setting("KEYPOOL_HOST")).isEqualTo("0.0.0.0");
        assertThat(config.setting("KEYPOOL_PORT")).isEqualTo("9090");
        assertThat(config.setting("KEYPOOL_ADMIN_TOKEN")).isEqualTo("admin-secret");
        assertThat(config.setting("KEYPOOL_CLIENT_TOKENS")).isEqualTo("a,b");
        assertThat(config.setting("KEYPOOL_REDIS_URL")).isEqualTo("redis://localhost:6379");
    }

    @ParameterizedTest
    @ValueSource(strings = {"ollama,anthropic", "claude", "openai,,gemini", "openai,openai"})
    void fromVariables_refusesABadProviderPriority_namingTheVariable(String priority) {
        ConfigException refusal = refusal("KEYPOOL_PROVIDER_PRIORITY", priority);

        assertThat(refusal.variable()).isEqualTo("KEYPOOL_PROVIDER_PRIORITY");
    }

    @Test
    void fromVariables_anUnknownProviderInThePriority_saysWhichAndWhatIsAccepted() {
        ConfigException refusal = refusal("KEYPOOL_PROVIDER_PRIORITY", "ollama,anthropic");

        assertThat(refusal).hasMessageContaining("anthropic").hasMessageContaining("openai, gemini, serp, ollama");
    }

    @ParameterizedTest(name = "{0}={1}")
    @CsvSource({
            "KEYPOOL_SELECTION_STRATEGY, cheapest",
            "KEYPOOL_DAY_ZONE, Mars/Olympus",
            "KEYPOOL_RATE_LIMIT_COOLDOWN_SECONDS, 0",
            "KEYPOOL_SERVER_ERROR_COOLDOWN_SECONDS, soon",
            "KEYPOOL_RESERVATION_TIMEOUT_SECONDS, -3",
            "OPENAI_BASE_URL, api.openai.com",
            "OLLAMA_HOST, ftp://localhost",
            "KEYPOOL_FALLBACKS, gpt-4o",
            "KEYPOOL_FALLBACKS, 'a=b,,c=d'"})
    void fromVariables_refusesOtherBadValues_namingTheVariable(String variable, String value) {
        ConfigException refusal = refusal(variable, value);

        assertThat(refusal.variable()).isEqualTo(variable);
        assertThat(refusal).hasMessageStartingWith(variable + ": ");
    }

    // ---- no key in any message -----------------------------------------------------------------------

    @ParameterizedTest(name = "{0}")
    @ValueSource(strings = {
            "OPENAI_API_KEYS=sk-proj-TEST.abcdefghijklmnop1,sk-proj-TEST.abcdefghijklmnop1",
            "OPENAI_API_KEYS=sk-proj-TEST.abcdefghijklmnop1,,sk-proj-TEST.abcdefghijklmnop2",
            "OPENAI_API_KEYS=sk-proj-TEST.abcdefghijklmnop1,sk-proj-TEST.abcdefghijklmnop2,",
            "OPENAI_API_KEYS=sk-proj-TEST.abcdefghijklmnop1\nOPENAI_MODEL_1=gpt-4o",
            "OPENAI_API_KEYS=sk-proj-TEST.abcdefghijklmnop1\nOPENAI_MAX_TOKENS_PER_DAY_0=lots",
            "OPENAI_API_KEYS=sk-proj-TEST.abcdefghijklmnop1\nsk-proj-TEST.abcdefghijklmnop2"})
    void load_noConfigExceptionMessageContainsAFullKey(String content) throws IOException {
        Path file = envFile(content + "\n");

        ConfigException refusal = catchThrowableOfType(ConfigException.class, () -> EnvConfigLoader.load(Map.of(), file));

        assertThat(refusal).isNotNull();
        assertThat(refusal.getMessage()).doesNotContain("sk-proj-TEST.abcdefghijklmnop1", "sk-proj-TEST.abcdefghijklmnop2");
        assertThat(refusal.toString()).doesNotContain("sk-proj-TEST.abcdefghijklmnop1", "sk-proj-TEST.abcdefghijklmnop2");
    }
}
