package dev.keypool.providers;

import dev.keypool.config.KeyConfig;
import dev.keypool.config.KeypoolConfig;
import dev.keypool.config.Provider;
import dev.keypool.rotation.Failover.Route;
import dev.keypool.providers.ollama.OllamaAvailability;
import dev.keypool.rotation.ApiKeyManager;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Set;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Turns a requested model into the routes to try, in order: {@code auto} lists the providers of
 * {@code KEYPOOL_PROVIDER_PRIORITY} (default Ollama, Gemini, OpenAI) that can serve (those with
 * keys, and Ollama when it answers and has a model); a named provider or model is one route,
 * followed by the stand-ins {@code KEYPOOL_FALLBACKS} maps it to ({@code gpt-4o=gemini-2.5-pro}),
 * and nothing else. Which provider a name belongs to is {@link ModelRouter}'s rule.
 */
final class RoutePlanner {

    private static final Logger LOG = LoggerFactory.getLogger(RoutePlanner.class);

    private final KeypoolConfig config;
    private final ApiKeyManager manager;
    private final OllamaAvailability ollama;
    private final ModelRouter router;

    RoutePlanner(KeypoolConfig config, ApiKeyManager manager, OllamaAvailability ollama) {
        this.config = config;
        this.manager = manager;
        this.ollama = ollama;
        this.router = new ModelRouter(config, manager::keys, ollama);
    }

    ModelRoute route(String model) {
        return router.route(model);
    }

    /**
     * The routes for {@code model} asked for in {@code protocol}'s shape. A name no rule places
     * goes to {@code protocol}'s own provider when it has keys (a model OpenAI launched yesterday
     * is OpenAI's to judge, not keypool's), and is unknown otherwise.
     *
     * @throws UnknownModelException when no provider serves {@code model}
     */
    List<Route> plan(String model, Provider protocol) {
        ModelRoute route;
        try {
            route = router.route(model);
        } catch (UnknownModelException unknown) {
            if (protocol.usesKeys() && !manager.keys(protocol).isEmpty()) {
                return List.of(new Route(protocol, model.trim()));
            }
            throw unknown;
        }
        List<Route> routes = new ArrayList<>();
        if (route.isAuto()) {
            addAuto(routes);
            return routes;
        }
        routes.add(new Route(route.provider(), route.model()));
        Set<String> followed = new HashSet<>();
        String asWritten = model.trim();
        String current = route.model();
        while (true) {
            String standIn = config.fallbacks().get(asWritten);
            if (standIn == null && current != null) {
                standIn = config.fallbacks().get(current);
            }
            if (standIn == null || !followed.add(standIn)) {
                return routes;
            }
            ModelRoute next;
            try {
                next = router.route(standIn);
            } catch (UnknownModelException e) {
                LOG.warn("KEYPOOL_FALLBACKS maps {} to {}, which no configured provider serves; ignoring it",
                        asWritten, standIn);
                return routes;
            }
            if (next.isAuto()) {
                addAuto(routes);
                return routes;
            }
            Route step = new Route(next.provider(), next.model());
            if (!routes.contains(step)) {
                routes.add(step);
            }
            asWritten = standIn;
            current = next.model();
        }
    }

    private void addAuto(List<Route> routes) {
        for (Provider provider : config.providerPriority()) {
            Route route = null;
            if (provider == Provider.OLLAMA) {
                String model = ollama.available() ? ollamaModel() : null;
                route = model == null ? null : new Route(Provider.OLLAMA, model);
            } else if (provider != Provider.SERP && !manager.keys(provider).isEmpty()) {
                route = new Route(provider, null);
            }
            if (route != null && !routes.contains(route)) {
                routes.add(route);
            }
        }
    }

    /** {@code OLLAMA_MODEL}, else the first model Ollama lists, else {@code null}. */
    String ollamaModel() {
        if (config.ollamaModel() != null) {
            return config.ollamaModel();
        }
        List<String> models = ollama.models();
        return models.isEmpty() ? null : models.get(0);
    }

    /** The model a provider's keys most likely run, for estimating before a key is chosen. */
    String typicalModel(Provider provider, String fallback) {
        for (KeyConfig key : manager.keys(provider)) {
            if (key.model() != null) {
                return key.model();
            }
        }
        return fallback;
    }
}
