package dev.keypool.server;

import dev.keypool.config.Provider;
import dev.keypool.rotation.ApiKeyManager;
import dev.keypool.rotation.KeyStatusSnapshot;
import dev.keypool.rotation.ProviderStatus;
import dev.keypool.usage.KeyStatus;
import io.helidon.webserver.http.HttpRules;
import io.helidon.webserver.http.HttpService;
import io.helidon.webserver.http.ServerRequest;
import io.helidon.webserver.http.ServerResponse;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * SerpApi's API as its clients call it: {@code /search} ({@code .json}, {@code .html},
 * {@code output=html}), {@code /searches/{id}.json|.html} and {@code /locations.json} are passed
 * through with a pooled key in place of the caller's {@code api_key} (which never leaves the
 * gateway; with client tokens configured it is how a SerpApi client presents its token); the
 * answer comes back as SerpApi sent it, HTML or JSON, errors in SerpApi's shape.
 *
 * <p>{@code /account.json} is answered by the gateway with the pool's view, in SerpApi's account
 * shape: the searches left today on every key, and in all, as keypool counts them against the
 * {@code SERP_MAX_TOKENS_PER_DAY_i} limits. Fields only SerpApi knows (the account's email, plan,
 * month) are {@code null}.
 */
final class SearchResource implements HttpService {

    private final Tokens tokens;
    private final ApiKeyManager manager;
    private final Relaying relaying;

    SearchResource(Relaying relaying, Tokens tokens, ApiKeyManager manager) {
        this.tokens = tokens;
        this.manager = manager;
        this.relaying = relaying;
    }

    @Override
    public void routing(HttpRules rules) {
        rules.get("/search", this::search)
                .get("/search.json", this::search)
                .get("/search.html", this::search)
                .get("/searches/{archived}", this::relay)
                .get("/locations.json", this::relay)
                .get("/account.json", this::account)
                .get("/account", this::account);
    }

    private void search(ServerRequest request, ServerResponse response) {
        tokens.requireClient(request, ErrorShape.SERPAPI);
        String query = request.query().rawValue();
        if (query == null || query.isEmpty() || query.equals("api_key") || request.query().names().stream()
                .allMatch(name -> name.equals("api_key"))) {
            throw ApiException.badRequest("missing_required_parameter",
                    "Missing query: pass SerpApi's parameters, e.g. ?engine=google&q=coffee");
        }
        relaying.relay(Provider.SERP, request, response);
    }

    private void relay(ServerRequest request, ServerResponse response) {
        tokens.requireClient(request, ErrorShape.SERPAPI);
        relaying.relay(Provider.SERP, request, response);
    }

    private void account(ServerRequest request, ServerResponse response) {
        tokens.requireClient(request, ErrorShape.SERPAPI);
        ProviderStatus status = manager.providerStatus(Provider.SERP);
        List<Map<String, Object>> keys = new ArrayList<>();
        Long left = 0L;
        long usedToday = 0;
        for (KeyStatusSnapshot key : status.keys()) {
            Long keyLeft = key.dayLimit() == null ? null
                    : key.status() == KeyStatus.DEACTIVATED ? 0L : Math.max(0, key.dayLimit() - key.dayTokens());
            left = left == null || keyLeft == null ? null : left + keyLeft;
            usedToday += key.dayTokens();
            Map<String, Object> entry = new LinkedHashMap<>();
            entry.put("index", key.index());
            entry.put("masked_key", key.maskedKey());
            entry.put("status", key.status().name().toLowerCase(java.util.Locale.ROOT));
            entry.put("searches_today", key.dayTokens());
            entry.put("searches_per_day", key.dayLimit());
            entry.put("searches_left_today", keyLeft);
            entry.put("searches_per_minute", key.minuteLimit());
            keys.add(entry);
        }
        Map<String, Object> account = new LinkedHashMap<>();
        account.put("account_id", null);
        account.put("api_key", null);
        account.put("account_email", null);
        account.put("account_status", status.activeKeys() > 0 ? "Active" : "Inactive");
        account.put("plan_id", "keypool");
        account.put("plan_name", "keypool pool of " + status.totalKeys() + " key(s)");
        account.put("plan_monthly_price", null);
        account.put("searches_per_month", null);
        account.put("plan_searches_left", left);
        account.put("extra_credits", 0);
        account.put("total_searches_left", left);
        account.put("this_month_usage", null);
        account.put("this_day_usage", usedToday);
        account.put("this_hour_searches", null);
        account.put("last_hour_searches", null);
        account.put("account_rate_limit_per_hour", null);
        account.put("keys", keys);
        Http.json(response, account);
    }
}
