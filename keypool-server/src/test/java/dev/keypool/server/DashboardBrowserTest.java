package dev.keypool.server;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.microsoft.playwright.Browser;
import com.microsoft.playwright.BrowserContext;
import com.microsoft.playwright.BrowserType;
import com.microsoft.playwright.Locator;
import com.microsoft.playwright.Page;
import com.microsoft.playwright.Playwright;
import com.microsoft.playwright.assertions.LocatorAssertions;
import com.microsoft.playwright.assertions.PlaywrightAssertions;
import dev.keypool.providers.fake.FakeOpenAi;
import dev.keypool.providers.fake.Reply;
import java.io.IOException;
import java.io.PrintStream;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.Paths;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.regex.Pattern;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.MethodOrderer;
import org.junit.jupiter.api.Order;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestMethodOrder;
import org.junit.jupiter.api.io.TempDir;

/**
 * Drives the dashboard in Debian's headless Chromium against the real gateway (its {@link Main}
 * routing on a free port) whose OpenAI upstream is a local fake. The browser is required: without
 * {@code /usr/bin/chromium} the test fails, it never skips.
 *
 * <p>The tests share one gateway and run in order, because the story builds up: traffic moves a
 * usage bar, a 429 cools a key, the reset button brings it back. Each test opens its own browser
 * context and signs in again, as a user reopening the page would.
 */
@TestMethodOrder(MethodOrderer.OrderAnnotation.class)
class DashboardBrowserTest {

    private static final Path CHROMIUM = Paths.get("/usr/bin/chromium");
    private static final List<String> CHROMIUM_ARGS = List.of("--no-sandbox", "--disable-gpu", "--disable-quic",
            "--no-first-run", "--disable-background-networking", "--disable-component-update", "--disable-sync");
    private static final String ADMIN_TOKEN = "dashboard-test-admin-token-7f3a";
    private static final List<String> OPENAI_KEYS = List.of(
            "sk-proj-TEST.dashboard-aaaaaaaaaaaa0001", "sk-proj-TEST.dashboard-bbbbbbbbbbbb0002",
            "sk-proj-TEST.dashboard-cccccccccccc0003");
    private static final List<String> GEMINI_KEYS = List.of("AIzaSyDashboardTest-dddddddddd0001");
    private static final List<String> SERP_KEYS = List.of("serp-dashboardtest-eeeeeeeeeeee0001",
            "serp-dashboardtest-ffffffffffff0002");
    private static final Path SCREENSHOTS = Paths.get("target");
    /** The discard port: connections are refused, for the upstreams these tests never call. */
    private static final String NOTHING_LISTENS = "http://127.0.0.1:9";
    /** 13 + 987 tokens: each completion moves a 10 000-token minute bar by 10 %. */
    private static final Reply COMPLETION = FakeOpenAi.completion("This is a test!", 13, 987);
    private static final ObjectMapper JSON = new ObjectMapper();

    @TempDir
    static Path tempDir;

    private static FakeOpenAi openAi;
    private static Gateway gateway;
    private static Playwright playwright;
    private static Browser browser;
    private static final HttpClient HTTP = HttpClient.newBuilder().connectTimeout(Duration.ofSeconds(5)).build();

    private BrowserContext context;
    private final List<String> pageErrors = new CopyOnWriteArrayList<>();

    @BeforeAll
    static void startGatewayAndBrowser() throws IOException {
        assertThat(Files.isExecutable(CHROMIUM))
                .withFailMessage("The dashboard browser test needs Debian's Chromium at %s, and it is missing. "
                        + "Install it with `apt-get update && apt-get install -y chromium` (CI's .ci/run does). "
                        + "This test fails rather than skips so that the dashboard is never silently untested.", CHROMIUM)
                .isTrue();
        openAi = FakeOpenAi.start();
        openAi.replyByDefault(COMPLETION);
        gateway = startGateway(keyedEnvironment());
        playwright = Playwright.create(new Playwright.CreateOptions()
                .setEnv(Map.of("PLAYWRIGHT_SKIP_BROWSER_DOWNLOAD", "1")));
        browser = playwright.chromium().launch(new BrowserType.LaunchOptions()
                .setExecutablePath(CHROMIUM)
                .setHeadless(true)
                .setArgs(CHROMIUM_ARGS));
        Files.createDirectories(SCREENSHOTS);
    }

    @AfterAll
    static void stopEverything() {
        if (browser != null) {
            browser.close();
        }
        if (playwright != null) {
            playwright.close();
        }
        if (gateway != null) {
            gateway.close();
        }
        if (openAi != null) {
            openAi.close();
        }
    }

    @AfterEach
    void closeContext() {
        if (context != null) {
            context.close();
        }
        assertThat(pageErrors).as("JavaScript errors on the page").isEmpty();
    }

    @Test
    @Order(1)
    void signIn_refusesAWrongTokenThenShowsEveryKeyRow() {
        Page page = openDashboard(1280, 800);

        page.getByTestId("token-input").fill("not-the-admin-token");
        page.getByTestId("login-button").click();
        PlaywrightAssertions.assertThat(page.getByTestId("login-error")).isVisible();
        PlaywrightAssertions.assertThat(page.getByTestId("login-error")).containsText("not accepted");

        signIn(page);
        for (int i = 0; i < OPENAI_KEYS.size(); i++) {
            PlaywrightAssertions.assertThat(row(page, "openai", i)).hasAttribute("data-status", "active");
        }
        PlaywrightAssertions.assertThat(row(page, "gemini", 0)).isVisible();
        for (int i = 0; i < SERP_KEYS.size(); i++) {
            PlaywrightAssertions.assertThat(row(page, "serp", i)).isVisible();
        }
        PlaywrightAssertions.assertThat(page.getByTestId("provider-card-openai").getByTestId("active-keys"))
                .hasText("3/3");
        PlaywrightAssertions.assertThat(row(page, "openai", 2).getByTestId("minute-percent")).hasText("unlimited");
        PlaywrightAssertions.assertThat(row(page, "openai", 1).getByTestId("key-load")).hasText("0 of 4 in flight · weight 2");
        PlaywrightAssertions.assertThat(row(page, "openai", 2).getByTestId("key-load")).hasText("0 in flight · weight 1");
        PlaywrightAssertions.assertThat(row(page, "openai", 2).getByTestId("minute-bar"))
                .hasAttribute("data-percent", "");
        PlaywrightAssertions.assertThat(row(page, "openai", 0).getByTestId("request-minute-bar")).isVisible();
        PlaywrightAssertions.assertThat(row(page, "openai", 0).getByTestId("request-minute-bar"))
                .hasAttribute("aria-valuetext", java.util.regex.Pattern.compile("of 50 requests$"));
        PlaywrightAssertions.assertThat(row(page, "openai", 2).getByTestId("request-minute-bar")).isHidden();
        PlaywrightAssertions.assertThat(row(page, "openai", 0).getByTestId("request-day-bar")).isHidden();
        PlaywrightAssertions.assertThat(row(page, "gemini", 0).getByTestId("request-day-bar"))
                .hasAttribute("aria-valuetext", java.util.regex.Pattern.compile("of 1[,.\u202f\u00a0]?500 requests$"));
        PlaywrightAssertions.assertThat(row(page, "serp", 1).getByTestId("request-day-bar"))
                .hasAttribute("aria-valuetext", java.util.regex.Pattern.compile("of 250 searches$"));
        PlaywrightAssertions.assertThat(page.getByTestId("demo-banner")).isHidden();
        PlaywrightAssertions.assertThat(page.getByTestId("no-keys-hint")).isHidden();
        PlaywrightAssertions.assertThat(page.getByTestId("trend-chart-openai")).isVisible();
        assertNoFullKeyIn(page);
    }

    @Test
    @Order(2)
    void usageBar_movesLiveAfterAChatCompletion() throws Exception {
        Page page = openDashboard(1280, 800);
        signIn(page);
        page.evaluate("() => { window.__notReloaded = true; }");
        double before = minutePercentSum(page);
        double requestsBefore = ((Number) page.evaluate("() => [...document.querySelectorAll("
                + "'[data-testid^=\"key-row-openai-\"] [data-testid=\"request-minute-bar\"]')]"
                + ".reduce((sum, bar) => sum + (parseFloat(bar.dataset.percent) || 0), 0)")).doubleValue();

        HttpResponse<String> response = chatCompletion();

        assertThat(response.statusCode()).as("gateway answer: %s", response.body()).isEqualTo(200);
        page.waitForFunction("before => [...document.querySelectorAll('[data-testid^=\"key-row-openai-\"] "
                + "[data-testid=\"minute-bar\"]')].reduce((sum, bar) => sum + (parseFloat(bar.dataset.percent) || 0), 0)"
                + " > before", before, new Page.WaitForFunctionOptions().setTimeout(15_000));
        assertThat(minutePercentSum(page)).isGreaterThan(before);
        // The request it took shows on the request bar of the key that served it (keys 0 and 1 have one).
        page.waitForFunction("before => [...document.querySelectorAll('[data-testid^=\"key-row-openai-\"] "
                + "[data-testid=\"request-minute-bar\"]')].reduce((sum, bar) => sum + (parseFloat(bar.dataset.percent) || 0), 0)"
                + " > before", requestsBefore, new Page.WaitForFunctionOptions().setTimeout(15_000));
        // The fill animates its width, so wait for it rather than measure once.
        page.waitForFunction("() => [...document.querySelectorAll('[data-testid^=\"key-row-openai-\"] "
                + "[data-testid=\"minute-bar\"] .bar-fill')].some(fill => fill.getBoundingClientRect().width > 0)");
        assertThat(page.evaluate("() => window.__notReloaded === true")).as("updated without a reload").isEqualTo(true);
    }

    @Test
    @Order(3)
    void resetButton_reactivatesAKeyCooledByA429() throws Exception {
        Page page = openDashboard(1440, 900);
        signIn(page);
        // OpenAI's 429 says "Please try again in 10m0s": the key stays cooled until the reset button.
        openAi.enqueue(OPENAI_KEYS.get(0), FakeOpenAi.rateLimitedTokens("10m0s"));

        HttpResponse<String> failedOver = chatCompletion();

        assertThat(failedOver.statusCode()).as("answer after failover: %s", failedOver.body()).isEqualTo(200);
        assertThat(keyStatus("openai", 0)).isEqualTo("cooling_down");

        Locator cooled = row(page, "openai", 0);
        PlaywrightAssertions.assertThat(cooled).hasAttribute("data-status", "cooling_down",
                new LocatorAssertions.HasAttributeOptions().setTimeout(15_000));
        PlaywrightAssertions.assertThat(cooled.getByTestId("countdown")).isVisible();
        PlaywrightAssertions.assertThat(cooled.getByTestId("countdown")).hasText(Pattern.compile("\\d+:\\d\\d"));
        PlaywrightAssertions.assertThat(page.getByTestId("alerts").getByTestId("alert").first()).isVisible();
        PlaywrightAssertions.assertThat(page.locator("[data-testid='event-item'][data-type='key_cooled_down']").first())
                .isVisible();
        page.mouse().move(0, 0);
        page.screenshot(new Page.ScreenshotOptions().setPath(SCREENSHOTS.resolve("dashboard-desktop.png")).setFullPage(true));

        cooled.getByTestId("reset-button").click();

        PlaywrightAssertions.assertThat(cooled).hasAttribute("data-status", "active");
        PlaywrightAssertions.assertThat(cooled.getByTestId("key-status")).containsText("Active");
        PlaywrightAssertions.assertThat(page.locator("[data-testid='event-item'][data-type='key_reactivated']").first())
                .isVisible();
        assertThat(keyStatus("openai", 0)).isEqualTo("active");
        assertNoFullKeyIn(page);
    }

    @Test
    @Order(4)
    void phoneWidth_hasNoHorizontalOverflow() {
        Page page = openDashboard(375, 812);
        signIn(page);
        PlaywrightAssertions.assertThat(row(page, "serp", 1)).isVisible();

        Object widths = page.evaluate("() => [document.documentElement.scrollWidth, document.documentElement.clientWidth]");
        List<?> pair = (List<?>) widths;
        assertThat(((Number) pair.get(0)).intValue()).as("page width at 375 px").isLessThanOrEqualTo(((Number) pair.get(1)).intValue());
        assertThat(row(page, "openai", 0).boundingBox().width).isLessThanOrEqualTo(375);
        assertThat(row(page, "openai", 0).getByTestId("reset-button").isVisible()).isTrue();
        page.screenshot(new Page.ScreenshotOptions().setPath(SCREENSHOTS.resolve("dashboard-phone.png")).setFullPage(true));
    }

    @Test
    @Order(5)
    void noKeysConfigured_explainsHowToAddThem() throws IOException {
        Map<String, String> environment = baseEnvironment(Files.createDirectories(tempDir.resolve("empty-data")));
        try (Gateway empty = startGateway(environment)) {
            Page page = openDashboard(1280, 800, empty);
            signIn(page);
            PlaywrightAssertions.assertThat(page.getByTestId("no-keys-hint")).isVisible();
            PlaywrightAssertions.assertThat(page.getByTestId("no-keys-hint")).containsText("OPENAI_API_KEYS");
            PlaywrightAssertions.assertThat(page.locator("[data-testid^='key-row-']")).hasCount(0);
        }
    }

    @Test
    @Order(6)
    void reloadButton_bringsInTheKeysWrittenToTheEnvFile_andShowsARefusal() throws IOException {
        Map<String, String> environment = baseEnvironment(Files.createDirectories(tempDir.resolve("reload-data")));
        environment.put("OPENAI_BASE_URL", openAi.baseUrl());
        Path envFile = Files.writeString(Files.createTempFile(tempDir, "reload", ".env"), "");
        try (Gateway reloading = startGateway(environment, envFile)) {
            Page page = openDashboard(1280, 800, reloading);
            signIn(page);
            PlaywrightAssertions.assertThat(page.getByTestId("no-keys-hint")).isVisible();

            Files.writeString(envFile, "OPENAI_API_KEYS=" + OPENAI_KEYS.get(0) + "\n");
            page.getByTestId("reload-env").click();

            PlaywrightAssertions.assertThat(row(page, "openai", 0)).hasAttribute("data-status", "active");
            PlaywrightAssertions.assertThat(page.getByTestId("reload-status")).containsText("+1");
            PlaywrightAssertions.assertThat(page.getByTestId("reload-status")).hasAttribute("data-outcome", "applied");
            PlaywrightAssertions.assertThat(page.getByTestId("no-keys-hint")).isHidden();

            Files.writeString(envFile, "OPENAI_API_KEYS=" + OPENAI_KEYS.get(1) + "\nKEYPOOL_MAX_INFLIGHT=3\n");
            page.getByTestId("reload-env").click();

            PlaywrightAssertions.assertThat(page.getByTestId("reload-status")).hasAttribute("data-outcome", "refused");
            PlaywrightAssertions.assertThat(page.getByTestId("reload-status")).containsText("KEYPOOL_MAX_IN_FLIGHT");
            PlaywrightAssertions.assertThat(row(page, "openai", 0)).isVisible();
            assertNoFullKeyIn(page);
        }
    }

    // ------------------------------------------------------------------ helpers

    private Page openDashboard(int width, int height) {
        return openDashboard(width, height, gateway);
    }

    private Page openDashboard(int width, int height, Gateway target) {
        context = browser.newContext(new Browser.NewContextOptions().setViewportSize(width, height));
        context.setDefaultTimeout(10_000);
        Page page = context.newPage();
        page.onPageError(error -> pageErrors.add(error));
        page.navigate(target.baseUrl() + "/");
        return page;
    }

    private static void signIn(Page page) {
        page.getByTestId("token-input").fill(ADMIN_TOKEN);
        page.getByTestId("login-button").click();
        PlaywrightAssertions.assertThat(page.getByTestId("provider-card-openai")).isVisible();
        PlaywrightAssertions.assertThat(page.getByTestId("token-input")).isHidden();
    }

    private static Locator row(Page page, String provider, int index) {
        return page.getByTestId("key-row-" + provider + "-" + index);
    }

    private static double minutePercentSum(Page page) {
        Object sum = page.evaluate("() => [...document.querySelectorAll('[data-testid^=\"key-row-openai-\"] "
                + "[data-testid=\"minute-bar\"]')].reduce((s, bar) => s + (parseFloat(bar.dataset.percent) || 0), 0)");
        return ((Number) sum).doubleValue();
    }

    private static void assertNoFullKeyIn(Page page) {
        String html = page.content();
        for (String key : allKeys()) {
            assertThat(html).as("the page").doesNotContain(key);
        }
    }

    private static List<String> allKeys() {
        List<String> keys = new ArrayList<>(OPENAI_KEYS);
        keys.addAll(GEMINI_KEYS);
        keys.addAll(SERP_KEYS);
        return keys;
    }

    private static HttpResponse<String> chatCompletion() throws IOException, InterruptedException {
        String body = """
                {"model": "gpt-4o", "max_tokens": 1000,
                 "messages": [{"role": "user", "content": "Say this is a test!"}]}""";
        HttpRequest request = HttpRequest.newBuilder(URI.create(gateway.baseUrl() + "/v1/chat/completions"))
                .header("Content-Type", "application/json")
                .timeout(Duration.ofSeconds(20))
                .POST(HttpRequest.BodyPublishers.ofString(body))
                .build();
        return HTTP.send(request, HttpResponse.BodyHandlers.ofString());
    }

    private static String keyStatus(String provider, int index) throws IOException, InterruptedException {
        HttpRequest request = HttpRequest.newBuilder(URI.create(gateway.baseUrl() + "/api/admin/api-key-status/"))
                .header("Authorization", "Bearer " + ADMIN_TOKEN)
                .timeout(Duration.ofSeconds(10))
                .build();
        HttpResponse<String> response = HTTP.send(request, HttpResponse.BodyHandlers.ofString());
        assertThat(response.statusCode()).as("status endpoint: %s", response.body()).isEqualTo(200);
        JsonNode keys = JSON.readTree(response.body()).path("providers").path(provider).path("keys");
        for (JsonNode key : keys) {
            if (key.path("index").asInt() == index) {
                return key.path("status").asText();
            }
        }
        throw new AssertionError("no " + provider + " key " + index + " in " + response.body());
    }

    private static Map<String, String> keyedEnvironment() throws IOException {
        Map<String, String> environment = baseEnvironment(Files.createDirectories(tempDir.resolve("data")));
        environment.put("OPENAI_API_KEYS", String.join(",", OPENAI_KEYS));
        // Key 0 serves first, so traffic and the scripted 429 both land on it.
        environment.put("KEYPOOL_SELECTION_STRATEGY", "fill_first");
        environment.put("OPENAI_BASE_URL", openAi.baseUrl());
        for (int i = 0; i < OPENAI_KEYS.size(); i++) {
            environment.put("OPENAI_MODEL_" + i, "gpt-4o");
            environment.put("OPENAI_MAX_TOKENS_PER_DAY_" + i, "1000000");
        }
        // Key 2 keeps an unlimited minute window, which the page shows as "unlimited".
        environment.put("OPENAI_MAX_TOKENS_PER_MINUTE_0", "10000");
        environment.put("OPENAI_MAX_TOKENS_PER_MINUTE_1", "10000");
        // Key 1 has a cap on requests in flight and a weight, which its row shows.
        environment.put("OPENAI_MAX_CONCURRENT_1", "4");
        environment.put("OPENAI_WEIGHT_1", "2");
        // Keys 0 and 1 have request limits, whose bars show beside the token ones; key 2 has none.
        environment.put("OPENAI_MAX_REQUESTS_PER_MINUTE_0", "50");
        environment.put("OPENAI_MAX_REQUESTS_PER_MINUTE_1", "50");
        environment.put("GEMINI_MAX_REQUESTS_PER_DAY_0", "1500");
        environment.put("SERP_MAX_REQUESTS_PER_DAY_1", "250");
        environment.put("GEMINI_API_KEYS", String.join(",", GEMINI_KEYS));
        environment.put("GEMINI_BASE_URL", NOTHING_LISTENS);
        environment.put("GEMINI_MODEL_0", "gemini-1.5-flash-latest");
        environment.put("GEMINI_MAX_TOKENS_PER_MINUTE_0", "60000");
        environment.put("GEMINI_MAX_TOKENS_PER_DAY_0", "1000000");
        environment.put("SERP_API_KEYS", String.join(",", SERP_KEYS));
        environment.put("SERP_BASE_URL", NOTHING_LISTENS);
        environment.put("SERP_MAX_TOKENS_PER_MINUTE_0", "100");
        environment.put("SERP_MAX_TOKENS_PER_DAY_0", "100000");
        return environment;
    }

    private static Map<String, String> baseEnvironment(Path dataDir) {
        Map<String, String> environment = new HashMap<>();
        environment.put("KEYPOOL_ADMIN_TOKEN", ADMIN_TOKEN);
        environment.put("KEYPOOL_DATA_DIR", dataDir.toString());
        // Ollama is unreachable, so nothing routes to it.
        environment.put("OLLAMA_HOST", NOTHING_LISTENS);
        return environment;
    }

    private static Gateway startGateway(Map<String, String> environment) throws IOException {
        return startGateway(environment, Files.writeString(Files.createTempFile(tempDir, "dashboard", ".env"), ""));
    }

    private static Gateway startGateway(Map<String, String> environment, Path envFile) {
        PrintStream quiet = new PrintStream(PrintStream.nullOutputStream());
        Main.Started started = Main.start(
                new String[] {"--env-file", envFile.toString(), "--host", "127.0.0.1", "--port", "0"},
                environment, quiet, System.err);
        assertThat(started.gateway()).as("gateway start-up (exit code %d)", started.exitCode()).isNotNull();
        return started.gateway();
    }
}
