package dev.keypool.bench;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Collections;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.function.Function;

/**
 * Writes {@code docs/BENCHMARKS.md} from what {@code bench/run-gateway-bench.sh} left in its run
 * directory: {@code results.txt} (one line of {@code key=value} fields per measured point),
 * {@code rss.txt}, {@code meta.txt}, the per-thread CPU of keypool around the profiled run, the
 * JFR summary ({@link JfrProfile}) and the JMH result files.
 *
 * <p>Every point was repeated; a figure is the median over the repetitions. An added latency is
 * the median over repetitions of (path − direct) in the same repetition: the paths alternate
 * inside each repetition, so a drift of the shared machine shifts both sides of each difference.
 */
public final class GatewayReport {

    private static final List<String> PATHS = List.of("direct", "nginx", "keypool", "portkey");
    private static final Map<String, String> TITLES = Map.of(
            "direct", "direct", "nginx", "nginx proxy_pass", "keypool", "keypool", "portkey", "Portkey");
    private static final double TICK_MICROS = 10_000; // /proc CPU ticks are 1/100 s

    private final Path run;
    private final List<Map<String, String>> results = new ArrayList<>();
    private final Map<String, String> meta = new LinkedHashMap<>();
    private final Map<String, Double> rssKb = new HashMap<>();
    private final StringBuilder out = new StringBuilder();
    private JfrProfile jfr;

    private GatewayReport(Path run) {
        this.run = run;
    }

    public static void main(String[] args) throws IOException {
        if (args.length != 1) {
            System.err.println("usage: GatewayReport RUN_DIRECTORY");
            System.exit(2);
        }
        System.out.print(new GatewayReport(Path.of(args[0])).write());
    }

    // ------------------------------------------------------------------------------------------
    // Reading.

    private String write() throws IOException {
        for (String line : Files.readAllLines(run.resolve("results.txt"))) {
            if (!line.isBlank()) {
                results.add(fields(line));
            }
        }
        for (String line : Files.readAllLines(run.resolve("meta.txt"))) {
            int equals = line.indexOf('=');
            if (equals > 0) {
                meta.put(line.substring(0, equals), line.substring(equals + 1));
            }
        }
        for (String line : Files.readAllLines(run.resolve("rss.txt"))) {
            Map<String, String> fields = fields(line);
            if (fields.containsKey("hwm_kb")) {
                if (!"alt".equals(fields.get("profile"))) {
                    // the measured flags' peak over the profiles; the alternative flags are reported apart
                    rssKb.merge(fields.get("path"), Double.parseDouble(fields.get("hwm_kb")), Math::max);
                }
                rssKb.put(fields.get("profile") + "/" + fields.get("path"), Double.parseDouble(fields.get("hwm_kb")));
            }
        }
        Path recording = run.resolve("keypool-saturation.jfr");
        jfr = Files.exists(recording) ? JfrProfile.of(recording) : null;
        header();
        headline();
        findings();
        details();
        profile();
        jmh();
        redisStore();
        method();
        return out.toString();
    }

    private static Map<String, String> fields(String line) {
        Map<String, String> fields = new LinkedHashMap<>();
        for (String token : line.trim().split("\\s+")) {
            int equals = token.indexOf('=');
            if (equals > 0) {
                fields.put(token.substring(0, equals), token.substring(equals + 1));
            }
        }
        return fields;
    }

    /** The measured repetitions of one point, failed or skipped ones left out. */
    private List<Map<String, String>> points(String profile, String test, String path) {
        List<Map<String, String>> points = new ArrayList<>();
        for (Map<String, String> result : results) {
            if (profile.equals(result.get("profile")) && test.equals(result.get("test")) && path.equals(result.get("path"))
                    && !result.containsKey("failed") && !result.containsKey("skipped")) {
                points.add(result);
            }
        }
        return points;
    }

    private boolean skipped(String profile, String test, String path) {
        return results.stream().anyMatch(r -> profile.equals(r.get("profile")) && test.equals(r.get("test"))
                && path.equals(r.get("path")) && r.containsKey("skipped"));
    }

    private boolean failed(String profile, String test, String path) {
        return results.stream().anyMatch(r -> profile.equals(r.get("profile")) && test.equals(r.get("test"))
                && path.equals(r.get("path")) && r.containsKey("failed"));
    }

    private List<Double> values(String profile, String test, String path, Function<Map<String, String>, Double> metric) {
        List<Double> values = new ArrayList<>();
        for (Map<String, String> point : points(profile, test, path)) {
            Double value = metric.apply(point);
            if (value != null && !value.isNaN()) {
                values.add(value);
            }
        }
        return values;
    }

    private static Function<Map<String, String>, Double> field(String name) {
        return point -> point.containsKey(name) ? Double.parseDouble(point.get(name)) : null;
    }

    /** CPU time of the path's server processes per request, in microseconds. */
    private static final Function<Map<String, String>, Double> CPU_PER_REQUEST = point -> {
        if (!point.containsKey("cpu_ticks") || !point.containsKey("requests")) {
            return null;
        }
        double requests = Double.parseDouble(point.get("requests"));
        return requests == 0 ? null : Double.parseDouble(point.get("cpu_ticks")) * TICK_MICROS / requests;
    };

    private static final Function<Map<String, String>, Double> SWITCHES_PER_REQUEST = point -> {
        if (!point.containsKey("ctx_switches") || !point.containsKey("requests")) {
            return null;
        }
        double requests = Double.parseDouble(point.get("requests"));
        return requests == 0 ? null : Double.parseDouble(point.get("ctx_switches")) / requests;
    };

    /** Errors of any kind in a point: transport errors and answers that were not 2xx. */
    private static final Function<Map<String, String>, Double> ERRORS = point -> {
        double errors = 0;
        for (String key : List.of("err_connect", "err_read", "err_write", "err_status", "err_timeout", "non2xx", "errors",
                "marker_missing")) {
            if (point.containsKey(key)) {
                errors += Double.parseDouble(point.get(key));
            }
        }
        return errors;
    };

    private Double median(String profile, String test, String path, Function<Map<String, String>, Double> metric) {
        return median(values(profile, test, path, metric));
    }

    private Double median(String profile, String test, String path, String field) {
        return median(profile, test, path, field(field));
    }

    /** Median over repetitions of (path − direct) in the same repetition. */
    private Double added(String profile, String test, String path, String field) {
        List<Double> differences = new ArrayList<>();
        for (Map<String, String> point : points(profile, test, path)) {
            for (Map<String, String> base : points(profile, test, "direct")) {
                if (base.get("rep").equals(point.get("rep")) && point.containsKey(field) && base.containsKey(field)) {
                    differences.add(Double.parseDouble(point.get(field)) - Double.parseDouble(base.get(field)));
                }
            }
        }
        return median(differences);
    }

    private static Double median(List<Double> values) {
        if (values.isEmpty()) {
            return null;
        }
        List<Double> sorted = new ArrayList<>(values);
        Collections.sort(sorted);
        int n = sorted.size();
        return n % 2 == 1 ? sorted.get(n / 2) : (sorted.get(n / 2 - 1) + sorted.get(n / 2)) / 2;
    }

    private String spread(String profile, String test, String path, Function<Map<String, String>, Double> metric,
            Function<Double, String> format) {
        List<Double> values = values(profile, test, path, metric);
        if (values.size() < 2) {
            return "";
        }
        return " (" + format.apply(Collections.min(values)) + "–" + format.apply(Collections.max(values)) + ")";
    }

    // ------------------------------------------------------------------------------------------
    // Formatting.

    static String micros(Double us) {
        if (us == null) {
            return "—";
        }
        double abs = Math.abs(us);
        if (abs < 1000) {
            return String.format(Locale.ROOT, "%.0f µs", us);
        }
        if (abs < 10_000) {
            return String.format(Locale.ROOT, "%.2f ms", us / 1000);
        }
        return String.format(Locale.ROOT, "%.1f ms", us / 1000);
    }

    static String rate(Double rps) {
        if (rps == null) {
            return "—";
        }
        return rps >= 10_000 ? String.format(Locale.ROOT, "%,.0f", rps) : String.format(Locale.ROOT, "%,.0f", rps);
    }

    static String mib(Double kb) {
        return kb == null || kb == 0 ? "—" : String.format(Locale.ROOT, "%.0f MiB", kb / 1024);
    }

    /** a ÷ b; "—" when either side is missing or not positive (an added latency below zero is noise). */
    static String ratio(Double a, Double b) {
        if (a == null || b == null || b <= 0 || a < 0) {
            return "—";
        }
        double r = a / b;
        if (r >= 100) {
            return String.format(Locale.ROOT, "%.0f×", r);
        }
        if (r >= 10) {
            return String.format(Locale.ROOT, "%.1f×", r);
        }
        return String.format(Locale.ROOT, "%.2f×", r);
    }

    private void line(String text) {
        out.append(text).append('\n');
    }

    private void row(Object... cells) {
        StringBuilder row = new StringBuilder("|");
        for (Object cell : cells) {
            row.append(' ').append(cell).append(" |");
        }
        line(row.toString());
    }

    private String meta(String key) {
        return meta.getOrDefault(key, "?");
    }

    private static String minutes(String seconds) {
        try {
            long s = Long.parseLong(seconds);
            return String.format(Locale.ROOT, "%d min %02d s", s / 60, s % 60);
        } catch (NumberFormatException e) {
            return "?";
        }
    }

    // ------------------------------------------------------------------------------------------
    // Sections.

    private void header() {
        line("# Benchmarks");
        line("");
        line("What keypool costs per request, measured beside a direct call to the upstream, nginx `proxy_pass` (the");
        line("floor for any proxy on this machine) and Portkey's open-source gateway, against the same nginx upstream, in");
        line("one run on one machine. Every figure that compares is a ratio taken in the same run, so it holds on a");
        line("noisy machine; absolute figures move with the machine and its load.");
        line("");
        line("This file is generated: `bench/run-gateway-bench.sh` regenerates all of it (`QUICK=1` for a smoke run;");
        line("durations and rates are environment variables listed at the top of the script). Do not edit by hand.");
        line("");
        line("| | |");
        line("|---|---|");
        row("run", meta("date") + ", " + minutes(meta.getOrDefault("total_seconds", "?")) + " in all (gateways "
                + minutes(meta.getOrDefault("gateway_seconds", "?")) + ", JMH " + minutes(meta.getOrDefault("jmh_seconds", "0")) + ")");
        row("machine", meta("nproc") + " cores, " + meta("cpu") + ", " + meta("memory") + ", " + meta("kernel") + ", " + meta("os"));
        row("load average (1, 5, 15 min)", "at the start " + meta("load_at_start") + " (after waiting "
                + meta("waited_for_idle_seconds") + " s for the 1-minute load to drop below " + meta.getOrDefault("max_load", "1.0")
                + "; it was " + meta("load_before_wait") + "); after the gateway runs, their own load included, "
                + meta("load_after_gateway"));
        row("JDK", meta("jdk") + "; default ergonomics here: " + meta("jvm_defaults"));
        row("keypool", meta("keypool") + ", JVM flags: " + meta("keypool_java_opts"));
        row("Portkey", meta("portkey") + ", Node " + meta("node") + ", `NODE_ENV=production`, `--headless`");
        row("nginx, wrk", meta("nginx") + " (upstream: 1 worker; proxy: `worker_processes auto`), " + meta("wrk") + " (1 thread)");
        row("settings", "`" + meta("settings") + "`");
        line("");
    }

    private void headline() {
        String half = meta.getOrDefault("half_keypool_rate", "?");
        line("## Headline: the no-delay upstream");
        line("");
        line("Added latency is over the direct call, median of the per-repetition differences. \"keypool ÷ nginx\" is how");
        line("many times nginx's figure keypool's is (for added latency: how many times more it adds).");
        line("");
        row("", "direct", "nginx proxy_pass", "keypool", "Portkey", "keypool ÷ nginx", "keypool ÷ Portkey", "goal");
        row("---", "---:", "---:", "---:", "---:", "---:", "---:", "---");
        addedRow("added latency p50, 1 connection", "fast", "c1", "p50_us", "< 100 µs");
        addedRow("added latency p99, 1 connection", "fast", "c1", "p99_us", "");
        addedRow("added latency p50 at " + half + " req/s (half keypool's saturation)", "fast", "rate-half", "p50_us", "");
        addedRow("added latency p99 at " + half + " req/s", "fast", "rate-half", "p99_us", "< 1 ms");
        Map<String, Double> sat = new HashMap<>();
        for (String path : PATHS) {
            sat.put(path, median("fast", "sat", path, "rps"));
        }
        row("throughput at saturation (req/s, " + satConnections() + " connections)", rate(sat.get("direct")), rate(sat.get("nginx")),
                rate(sat.get("keypool")), rate(sat.get("portkey")), ratio(sat.get("keypool"), sat.get("nginx")),
                ratio(sat.get("keypool"), sat.get("portkey")), "≥ 0.5× nginx");
        Map<String, Double> cpu = new HashMap<>();
        for (String path : PATHS) {
            cpu.put(path, median("fast", "sat", path, CPU_PER_REQUEST));
        }
        row("server CPU per request at saturation", micros(cpu.get("direct")) + " (upstream)", micros(cpu.get("nginx")),
                micros(cpu.get("keypool")), micros(cpu.get("portkey")), ratio(cpu.get("keypool"), cpu.get("nginx")),
                ratio(cpu.get("keypool"), cpu.get("portkey")), "");
        row("peak RSS (VmHWM, the largest of the profiles)", "—", mib(rssKb.get("nginx")), mib(rssKb.get("keypool")),
                mib(rssKb.get("portkey")), ratio(rssKb.get("keypool"), rssKb.get("nginx")),
                ratio(rssKb.get("keypool"), rssKb.get("portkey")), "< 256 MiB");
        addedRow("streaming: added time to first token p50", "stream", "ttft", "ttft_p50_us", "");
        addedRow("streaming: added time to first token p99", "stream", "ttft", "ttft_p99_us", "");
        line("");
        goals(sat);
    }

    private String satConnections() {
        return meta("settings").replaceAll(".*SAT_CONNECTIONS=(\\d+).*", "$1");
    }

    private void addedRow(String title, String profile, String test, String field, String goal) {
        Map<String, Double> added = new HashMap<>();
        String[] cells = new String[PATHS.size()];
        for (int i = 0; i < PATHS.size(); i++) {
            String path = PATHS.get(i);
            if (path.equals("direct")) {
                cells[i] = micros(median(profile, test, path, field)) + " (itself)";
                continue;
            }
            Double value = added(profile, test, path, field);
            added.put(path, value);
            cells[i] = skipped(profile, test, path) ? "beyond its saturation" : failed(profile, test, path) && value == null ? "failed" : micros(value);
        }
        row(title, cells[0], cells[1], cells[2], cells[3], ratio(added.get("keypool"), added.get("nginx")),
                ratio(added.get("keypool"), added.get("portkey")), goal);
    }

    private void goals(Map<String, Double> sat) {
        Double p50 = added("fast", "c1", "keypool", "p50_us");
        Double p99 = added("fast", "rate-half", "keypool", "p99_us");
        Double rss = rssKb.get("keypool");
        Double altRss = rssKb.get("alt/keypool");
        Double altSat = median("fast", "sat-alt", "keypool", "rps");
        line("Against the goals (measured, not asserted):");
        line("");
        line("- added latency at 1 connection, median: " + verdict(p50 != null && p50 < 100) + " — " + micros(p50) + " (goal < 100 µs).");
        line("- added latency p99 at half the saturation rate: " + verdict(p99 != null && p99 < 1000) + " — " + micros(p99) + " (goal < 1 ms).");
        Double kp = sat.get("keypool");
        Double ng = sat.get("nginx");
        line("- throughput at saturation: " + verdict(kp != null && ng != null && kp >= ng / 2) + " — " + rate(kp) + " req/s, "
                + ratio(kp, ng) + " nginx's " + rate(ng) + " (goal ≥ 0.5×); " + ratio(kp, sat.get("portkey")) + " Portkey's.");
        line("- RSS under load: " + verdict(rss != null && rss < 256 * 1024) + " — " + mib(rss) + " with the launcher's flags, `"
                + meta("keypool_java_opts") + "` (goal < 256 MiB); " + mib(altRss) + " with " + meta("alt_opts") + ", which served "
                + rate(altSat) + " req/s at saturation (" + ratio(altSat, kp) + " of the launcher's flags').");
        line("");
    }

    /**
     * What keypool's gap is made of, in sentences built from this run's figures. Each one is
     * written only when the run shows it, so a fixed cause drops out of the next report.
     */
    private void findings() throws IOException {
        line("## What keypool's gap is made of");
        line("");
        line("Read from this run's figures (the profile, thread and memory tables further down). A line appears only when");
        line("the run shows its cause.");
        line("");
        Double switches = median("fast", "c1", "keypool", SWITCHES_PER_REQUEST);
        Double nginxSwitches = median("fast", "c1", "nginx", SWITCHES_PER_REQUEST);
        Double portkeySwitches = median("fast", "c1", "portkey", SWITCHES_PER_REQUEST);
        Double cpuC1 = median("fast", "c1", "keypool", CPU_PER_REQUEST);
        Double cpuSat = median("fast", "sat", "keypool", CPU_PER_REQUEST);
        Double cpuLow = median("fast", "rate-low", "keypool", CPU_PER_REQUEST);
        Map<String, Double> threads = threadShares();
        double httpClientThreads = threads.getOrDefault("JDK HttpClient selector", 0.0) + threads.getOrDefault("JDK HttpClient workers", 0.0);
        if (switches != null && switches > 5) {
            line(String.format(Locale.ROOT, "- **Wake-ups set the latency at low load.** At 1 connection keypool makes %s"
                    + " context switches per request (nginx %s, Portkey %s) and burns %s of CPU per request (%s at saturation%s):"
                    + " each blocking read (the caller's request, then the upstream's answer) parks the request's virtual thread,"
                    + " and the JDK's read poller thread must wake it again on a carrier thread; each is a park, a wake-up and a"
                    + " chance to wait for one of the 2 cores, where nginx's one event loop reads both sockets itself.%s",
                    number(switches), number(nginxSwitches), number(portkeySwitches), micros(cpuC1), micros(cpuSat),
                    cpuLow == null ? "" : ", " + micros(cpuLow) + " at " + meta.getOrDefault("settings", "").replaceAll(".*LOW_RATE=(\\d+).*", "$1") + " req/s open loop",
                    httpClientThreads > 0.02 ? String.format(Locale.ROOT, " The JDK HttpClient's own threads take %.0f %% of keypool's CPU at saturation.", 100 * httpClientThreads) : ""));
        }
        if (jfr != null && jfr.samples() > 0) {
            double client = jfr.ownerShare("JDK HttpClient (to the upstream)") + jfr.ownerShare("Helidon WebClient (to the upstream)");
            double helidon = jfr.ownerShare("Helidon webserver");
            double jackson = jfr.ownerShare("Jackson");
            double keypool = jfr.ownerShare("keypool-server: handlers, JSON in and out") + jfr.ownerShare("keypool-providers: routing, OpenAI client, token estimate")
                    + jfr.ownerShare("keypool-core: pool, reservations, events") + jfr.ownerShare("keypool-server: event feed")
                    + jfr.ownerShare("keypool-server: metrics") + jfr.ownerShare("keypool-server: usage recorder");
            line(String.format(Locale.ROOT, "- **Where the CPU samples land at saturation**: the upstream client %.0f %%, Helidon's server %.0f %%, Jackson %.0f %%,"
                    + " keypool's own code %.0f %% (of which the core's pool and reservations %.0f %%), the rest JDK, I/O and"
                    + " metrics. The core's acquire+commit is not the problem; the HTTP plumbing around it is.",
                    100 * client, 100 * helidon, 100 * jackson, 100 * keypool, 100 * jfr.ownerShare("keypool-core: pool, reservations, events")));
            double recycler = jfr.allocationShare("com.fasterxml.jackson.core.util.BufferRecycler");
            if (jackson > 0.05) {
                line(String.format(Locale.ROOT, "- **JSON**: %.0f %% of samples in Jackson. The caller's body is read into a tree (its"
                        + " fields are checked and the unknown ones passed on); the upstream request and the answer to the caller are"
                        + " written field by field, and the upstream's answer is read with the streaming parser%s.", 100 * jackson,
                        recycler > 0.05 ? String.format(Locale.ROOT, "; %.0f %% of the sampled allocation is Jackson's"
                                + " `BufferRecycler.calloc`, new parse and write buffers rather than recycled ones (Jackson's default"
                                + " recycler pool is thread-local; requests run on virtual threads)", 100 * recycler) : ""));
            }
            double feed = jfr.ownerShare("keypool-server: event feed");
            if (feed > 0.01) {
                line(String.format(Locale.ROOT, "- **The dashboard feed serialises every key event even when no dashboard is open**"
                        + " (`EventFeed.onEvent` writes each event as JSON into its replay buffer): %.1f %% of samples.", 100 * feed));
            }
            String metricsCall = jfr.topCall("io.micrometer.core.instrument.Counter$Builder");
            double metrics = jfr.ownerShare("metrics library") + jfr.ownerShare("keypool-server: metrics");
            if (metrics > 0.01) {
                line(String.format(Locale.ROOT, "- **Metrics**: %.1f %% of samples%s.", 100 * metrics,
                        metricsCall != null ? "; meters are looked up through a builder and `register()` on every event ("
                                + metricsCall + ") instead of being kept per key" : ""));
            }
            Map<String, String> profiled = points("fast", "profiled", "keypool").stream().findFirst().orElse(Map.of());
            double requests = profiled.containsKey("requests") ? Double.parseDouble(profiled.get("requests")) : 0;
            String exception = jfr.topException();
            if (requests > 0 && jfr.throwables() / requests > 0.3 && exception != null) {
                line(String.format(Locale.ROOT, "- **An exception per request as control flow**: %.2f throwables per request, nearly all"
                        + " %s.", jfr.throwables() / requests, exception.replace("|", "\\|")));
            }
            List<String> regex = new ArrayList<>();
            for (String callee : List.of("java.lang.String.matches", "java.lang.String.replaceAll", "java.lang.String.split", "java.util.regex.Pattern.compile")) {
                String call = jfr.topCall(callee);
                if (call != null) {
                    regex.add(call);
                }
            }
            if (!regex.isEmpty()) {
                line("- **Regular expressions compiled per request**: " + String.join(", ", regex) + ".");
            }
            double tokens = jfr.ownerShare("jtokkit (token estimate)");
            if (tokens > 0.01) {
                line(String.format(Locale.ROOT, "- **Token estimate** (jtokkit, to size the reservation): %.1f %% of samples.", 100 * tokens));
            }
        }
        Double half = median("fast", "rate-half", "keypool", "rps");
        Double cpuHalf = median("fast", "rate-half", "keypool", CPU_PER_REQUEST);
        if (half != null && cpuHalf != null) {
            line(String.format(Locale.ROOT, "- **Half of keypool's saturation rate is most of this machine**: at %s req/s keypool"
                    + " used %.1f of the 2 cores (%s of CPU per request), leaving the rest to the load generator and the upstream,"
                    + " so its p99 there includes waiting for a core.", rate(half), half * cpuHalf / 1e6, micros(cpuHalf)));
        }
        if (jfr != null && jfr.samples() > 0) {
            Map<String, String> profiled = points("fast", "profiled", "keypool").stream().findFirst().orElse(Map.of());
            double requests = profiled.containsKey("requests") ? Double.parseDouble(profiled.get("requests")) : 0;
            if (requests > 0) {
                List<String> sites = new ArrayList<>();
                jfr.topAllocationSites(3).forEach((site, share) -> {
                    String caller = jfr.topCall(site);
                    sites.add(String.format(Locale.ROOT, "`%s` %.0f %%%s", site, 100 * share,
                            caller != null && !site.startsWith("dev.keypool.") ? " (under " + caller.substring(0, caller.indexOf(" →")) + ")" : ""));
                });
                line(String.format(Locale.ROOT, "- **Allocation and GC**: about %.0f KiB allocated per request; the largest sites %s. %d"
                        + " collections in the %s s profiled, %d ms of pauses, the longest %.1f ms.",
                        jfr.allocatedBytes() / requests / 1024, String.join(", ", sites), jfr.collections(),
                        meta.getOrDefault("settings", "").replaceAll(".*PROFILE_SECONDS=(\\d+).*", "$1"), jfr.pauses().toMillis(),
                        jfr.longestPause().toNanos() / 1e6));
            }
        }
        double jit = threads.getOrDefault("JIT compilers", 0.0);
        if (jit > 0.1) {
            line(String.format(Locale.ROOT, "- The JIT compilers still took %.0f %% of keypool's CPU during the profiled run after"
                    + " %s s of warm-up: the saturation figures include some compilation.", 100 * jit,
                    meta.getOrDefault("settings", "").replaceAll(".*WARMUP_SECONDS=(\\d+).*", "$1")));
        }
        Double rss = rssKb.get("keypool");
        if (rss != null && rss > 256 * 1024) {
            line("- **Memory**: with `" + meta("keypool_java_opts") + "` the resident set peaked at " + mib(rss)
                    + " (breakdown under \"Memory\" below); with " + meta("alt_opts") + " (" + meta("jvm_defaults") + ") it peaked at "
                    + mib(rssKb.get("alt/keypool")) + " and served " + ratio(median("fast", "sat-alt", "keypool", "rps"),
                    median("fast", "sat", "keypool", "rps")) + " the throughput.");
        }
        Double ttft = added("stream", "ttft", "keypool", "ttft_p50_us");
        if (ttft != null && ttft > 30_000) {
            line("- **Streaming**: the first token reaches a keep-alive client " + micros(ttft) + " late, from Nagle's algorithm on"
                    + " keypool's sockets (see \"Streaming\" below).");
        }
        line("");
    }

    /** keypool's CPU during the profiled run by thread group, as shares of the whole. */
    private Map<String, Double> threadShares() throws IOException {
        Map<String, Double> shares = new HashMap<>();
        Map<String, Long> groups = threadGroups();
        long total = groups.values().stream().mapToLong(Long::longValue).sum();
        groups.forEach((group, ticks) -> shares.put(group, total == 0 ? 0 : ticks / (double) total));
        return shares;
    }

    private Map<String, Long> threadGroups() throws IOException {
        Map<String, Long> groups = new LinkedHashMap<>();
        Path before = run.resolve("threads-before.txt");
        Path after = run.resolve("threads-after.txt");
        if (!Files.exists(before) || !Files.exists(after)) {
            return groups;
        }
        Map<String, Long> start = new HashMap<>();
        for (String line : Files.readAllLines(before)) {
            String[] parts = line.split("\\|");
            if (parts.length == 3 && !parts[2].isBlank()) {
                start.put(parts[0], Long.parseLong(parts[2].trim()));
            }
        }
        for (String line : Files.readAllLines(after)) {
            String[] parts = line.split("\\|");
            if (parts.length == 3 && !parts[2].isBlank()) {
                groups.merge(threadGroup(parts[1]), Long.parseLong(parts[2].trim()) - start.getOrDefault(parts[0], 0L), Long::sum);
            }
        }
        return groups;
    }

    /** The heap and the native memory of the measured keypool, after the profiled saturation run. */
    private void memory() throws IOException {
        line("### Memory");
        line("");
        Path heap = run.resolve("heap-default.txt");
        if (Files.exists(heap)) {
            String text = Files.readString(heap);
            java.util.regex.Matcher m = java.util.regex.Pattern.compile("total (?:reserved )?(\\d+)K, committed (\\d+)K, used (\\d+)K").matcher(text);
            if (m.find()) {
                line(String.format(Locale.ROOT, "With `" + meta("keypool_java_opts") + "`, after the profiled saturation run: heap committed %s, used %s (`jcmd GC.heap_info`);"
                        + " peak RSS over the profiles %s.", mib(Double.parseDouble(m.group(2))), mib(Double.parseDouble(m.group(3))),
                        mib(rssKb.get("keypool"))));
                line("");
            }
        }
        Path nmt = run.resolve("nmt-profile.txt");
        if (Files.exists(nmt)) {
            line("The same process (peak RSS over the profiles " + mib(rssKb.get("keypool"))
                    + "), native memory tracking (`-XX:NativeMemoryTracking=summary`, `jcmd VM.native_memory summary`), committed:");
            line("");
            row("area", "committed");
            row("---", "---:");
            java.util.regex.Pattern area = java.util.regex.Pattern.compile("^-\\s+(.+?) \\(reserved=(\\d+)KB, committed=(\\d+)KB");
            java.util.regex.Pattern total = java.util.regex.Pattern.compile("^Total: reserved=(\\d+)KB, committed=(\\d+)KB");
            List<String[]> areas = new ArrayList<>();
            String all = null;
            for (String text : Files.readAllLines(nmt)) {
                java.util.regex.Matcher m = area.matcher(text.trim().isEmpty() ? "" : text);
                if (m.find()) {
                    areas.add(new String[] {m.group(1).trim(), m.group(3)});
                }
                java.util.regex.Matcher t = total.matcher(text.trim());
                if (t.find()) {
                    all = t.group(2);
                }
            }
            areas.sort((a, b) -> Long.compare(Long.parseLong(b[1]), Long.parseLong(a[1])));
            for (String[] a : areas.subList(0, Math.min(10, areas.size()))) {
                row(a[0], mib(Double.parseDouble(a[1])));
            }
            if (all != null) {
                row("all tracked", mib(Double.parseDouble(all)));
            }
            line("");
        }
    }

    private static String verdict(boolean met) {
        return met ? "**met**" : "**not met**";
    }

    private void details() {
        line("## Every point");
        line("");
        line("Medians over the repetitions; in brackets the lowest and highest repetition. \"errors\" counts transport errors and");
        line("answers other than 2xx (there should be none: every path answered the fixed completion before the run).");
        line("");

        line("### No delay, 1 connection (wrk, closed loop): pure added latency");
        line("");
        row("path", "req/s", "p50", "p90", "p99", "p99.9", "added p50", "added p99", "server CPU / request", "context switches / request", "errors");
        row("---", "---:", "---:", "---:", "---:", "---:", "---:", "---:", "---:", "---:", "---:");
        for (String path : PATHS) {
            row(TITLES.get(path), rate(median("fast", "c1", path, "rps")),
                    micros(median("fast", "c1", path, "p50_us")) + spread("fast", "c1", path, field("p50_us"), GatewayReport::micros),
                    micros(median("fast", "c1", path, "p90_us")),
                    micros(median("fast", "c1", path, "p99_us")) + spread("fast", "c1", path, field("p99_us"), GatewayReport::micros),
                    micros(median("fast", "c1", path, "p999_us")),
                    path.equals("direct") ? "—" : micros(added("fast", "c1", path, "p50_us")),
                    path.equals("direct") ? "—" : micros(added("fast", "c1", path, "p99_us")),
                    micros(median("fast", "c1", path, CPU_PER_REQUEST)),
                    number(median("fast", "c1", path, SWITCHES_PER_REQUEST)),
                    number(median("fast", "c1", path, ERRORS)));
        }
        line("");
        line("Server CPU and context switches are those of the path's server processes (for \"direct\", the upstream nginx), from");
        line("`/proc`, per request served.");
        line("");

        line("### No delay, saturation (wrk, " + satConnections() + " connections, closed loop)");
        line("");
        saturationTable("fast", "sat");

        line("### No delay, open loop at fixed rates");
        line("");
        line("`GatewayLoad rate` (in keypool-bench): requests are due on a fixed schedule whether or not earlier ones were");
        line("answered; a request that found every connection busy is timed from when it was due (no coordinated omission).");
        line("");
        rateTable("fast", "rate-low", meta.getOrDefault("settings", "").replaceAll(".*LOW_RATE=(\\d+).*", "$1"));
        rateTable("fast", "rate-half", meta.getOrDefault("half_keypool_rate", "?"));

        line("### 50 ms upstream (" + meta.getOrDefault("settings", "").replaceAll(".*DELAY_MS=(\\d+).*", "$1") + " ms, nginx `echo_sleep`): many requests in flight");
        line("");
        String delayConnections = meta.getOrDefault("settings", "").replaceAll(".*DELAY_CONNECTIONS=(\\d+).*", "$1");
        line("Saturation with " + delayConnections + " connections; the ideal is " + delayConnections + " ÷ the delay.");
        line("");
        saturationTable("delay", "sat");
        rateTable("delay", "rate", meta.getOrDefault("settings", "").replaceAll(".*DELAY_RATE=(\\d+).*", "$1"));

        line("### Streaming: time to first token");
        line("");
        line("The upstream streams the role chunk and the first token (`Hello`) at once, then the rest after "
                + meta.getOrDefault("settings", "").replaceAll(".*STREAM_GAP_MS=(\\d+).*", "$1") + " ms. `GatewayLoad ttft` sends one");
        line("request at a time on a keep-alive connection and times the first byte of the response (TTFB) and the first");
        line("appearance of the first token's text in the body (TTFT), as a client rendering the stream sees them.");
        line("");
        row("path", "TTFB p50", "TTFT p50", "TTFT p99", "added TTFT p50", "added TTFT p99", "whole answer p50", "errors");
        row("---", "---:", "---:", "---:", "---:", "---:", "---:", "---:");
        for (String path : PATHS) {
            row(TITLES.get(path), micros(median("stream", "ttft", path, "ttfb_p50_us")),
                    micros(median("stream", "ttft", path, "ttft_p50_us")) + spread("stream", "ttft", path, field("ttft_p50_us"), GatewayReport::micros),
                    micros(median("stream", "ttft", path, "ttft_p99_us")),
                    path.equals("direct") ? "—" : micros(added("stream", "ttft", path, "ttft_p50_us")),
                    path.equals("direct") ? "—" : micros(added("stream", "ttft", path, "ttft_p99_us")),
                    micros(median("stream", "ttft", path, "total_p50_us")),
                    number(median("stream", "ttft", path, ERRORS)));
        }
        line("");
        streamingNotes();

        line("### Peak memory");
        line("");
        line("VmHWM from `/proc/PID/status` at the end of each profile; every gateway was started fresh for each profile. For");
        line("nginx, master and workers added up.");
        line("");
        row("profile", "upstream nginx", "nginx proxy_pass", "keypool", "Portkey");
        row("---", "---:", "---:", "---:", "---:");
        for (String profile : List.of("fast", "delay", "stream")) {
            row(profile, mib(rssKb.get(profile + "/direct")), mib(rssKb.get(profile + "/nginx")), mib(rssKb.get(profile + "/keypool")),
                    mib(rssKb.get(profile + "/portkey")));
        }
        row("keypool with " + meta("alt_opts") + ", no delay, after saturation", "", "", mib(rssKb.get("alt/keypool")), "");
        line("");
    }

    private void saturationTable(String profile, String test) {
        row("path", "req/s", "÷ nginx", "÷ Portkey", "p50", "p99", "server CPU / request", "errors");
        row("---", "---:", "---:", "---:", "---:", "---:", "---:", "---:");
        Double nginx = median(profile, test, "nginx", "rps");
        Double portkey = median(profile, test, "portkey", "rps");
        for (String path : PATHS) {
            Double rps = median(profile, test, path, "rps");
            row(TITLES.get(path), rate(rps) + spread(profile, test, path, field("rps"), GatewayReport::rate),
                    ratio(rps, nginx), ratio(rps, portkey),
                    micros(median(profile, test, path, "p50_us")), micros(median(profile, test, path, "p99_us")),
                    micros(median(profile, test, path, CPU_PER_REQUEST)), number(median(profile, test, path, ERRORS)));
        }
        line("");
    }

    private void rateTable(String profile, String test, String target) {
        line("At " + target + " req/s:");
        line("");
        row("path", "achieved req/s", "p50", "p99", "p99.9", "added p50", "added p99", "overdue sends", "server CPU / request", "errors");
        row("---", "---:", "---:", "---:", "---:", "---:", "---:", "---:", "---:", "---:");
        for (String path : PATHS) {
            if (points(profile, test, path).isEmpty()) {
                row(TITLES.get(path), skipped(profile, test, path) ? "not run: beyond its saturation" : "—", "", "", "", "", "", "", "", "");
                continue;
            }
            row(TITLES.get(path), rate(median(profile, test, path, "rps")),
                    micros(median(profile, test, path, "p50_us")),
                    micros(median(profile, test, path, "p99_us")) + spread(profile, test, path, field("p99_us"), GatewayReport::micros),
                    micros(median(profile, test, path, "p999_us")),
                    path.equals("direct") ? "—" : micros(added(profile, test, path, "p50_us")),
                    path.equals("direct") ? "—" : micros(added(profile, test, path, "p99_us")),
                    number(median(profile, test, path, "overdue_pct")) + " %",
                    micros(median(profile, test, path, CPU_PER_REQUEST)), number(median(profile, test, path, ERRORS)));
        }
        line("");
    }

    private void streamingNotes() {
        Double keypoolTtft = added("stream", "ttft", "keypool", "ttft_p50_us");
        Double keypoolTotal = median("stream", "ttft", "keypool", "total_p50_us");
        Double keypoolFirst = median("stream", "ttft", "keypool", "ttft_p50_us");
        if (keypoolTtft != null && keypoolTtft > 30_000 && keypoolTotal != null && keypoolFirst != null
                && keypoolTotal - keypoolFirst < 5_000) {
            line("keypool's first token arrives about 40 ms late, together with the rest of the answer, whatever the gap");
            line("upstream: the signature of Nagle's algorithm meeting the client's delayed ACK. keypool writes each SSE event");
            line("with its own flush, and its listener sockets are opened with `TCP_NODELAY` off (Helidon's default, seen as");
            line("`setsockopt(TCP_NODELAY, 0)` under strace), so the second small write of a keep-alive connection waits for the");
            line("ACK of the first, which the client delays by up to 40 ms. A fresh connection (curl) does not show it: the client");
            line("acknowledges at once early in a connection.");
            line("");
        }
        Double portkeyTtft = added("stream", "ttft", "portkey", "ttft_p50_us");
        if (portkeyTtft != null && portkeyTtft > 20_000) {
            line("Portkey holds the first chunk of every stream for 25 ms by design (a `setTimeout(…, 25)` before it forwards");
            line("the first event of an OpenAI-compatible stream, in `build/start-server.js`).");
            line("");
        }
    }

    private void profile() throws IOException {
        line("## Where keypool's time goes");
        line("");
        Map<String, String> profiled = points("fast", "profiled", "keypool").stream().findFirst().orElse(Map.of());
        line("keypool was restarted, warmed up, and recorded with JFR (`jcmd PID JFR.start settings=profile`) for a saturation run");
        line("of " + meta.getOrDefault("settings", "").replaceAll(".*PROFILE_SECONDS=(\\d+).*", "$1") + " s on the no-delay upstream ("
                + rate(profiled.containsKey("rps") ? Double.parseDouble(profiled.get("rps")) : null) + " req/s during the recording).");
        line("");
        threadCpu(profiled);
        if (jfr != null && jfr.samples() > 0) {
            out.append(jfr.report(profiled.containsKey("requests") ? Long.parseLong(profiled.get("requests")) : 0));
            line("");
        } else {
            line("(no JFR summary: the recording is missing or could not be read)");
            line("");
        }
        memory();
    }

    /** keypool's CPU during the profiled run, by thread group, per request. */
    private void threadCpu(Map<String, String> profiled) throws IOException {
        Path before = run.resolve("threads-before.txt");
        Path after = run.resolve("threads-after.txt");
        if (!Files.exists(before) || !Files.exists(after) || !profiled.containsKey("requests")) {
            return;
        }
        Map<String, Long> groups = threadGroups();
        long total = groups.values().stream().mapToLong(Long::longValue).sum();
        double requests = Double.parseDouble(profiled.get("requests"));
        line("keypool's CPU during the recording, by thread (from `/proc/PID/task/*/stat`), per request served:");
        line("");
        row("threads", "CPU / request", "share");
        row("---", "---:", "---:");
        final long all = total;
        groups.entrySet().stream().sorted(Map.Entry.<String, Long>comparingByValue().reversed()).filter(e -> e.getValue() > 0)
                .forEach(e -> row(e.getKey(), micros(e.getValue() * TICK_MICROS / requests),
                        String.format(Locale.ROOT, "%.0f %%", 100.0 * e.getValue() / all)));
        row("all", micros(total * TICK_MICROS / requests), "100 %");
        line("");
    }

    private static String threadGroup(String name) {
        if (name.startsWith("ForkJoinPool")) {
            return "virtual-thread carriers (Helidon handlers, keypool's request code)";
        }
        if (name.startsWith("HttpClient") && name.contains("Se")) {
            return "JDK HttpClient selector";
        }
        if (name.startsWith("HttpClient")) {
            return "JDK HttpClient workers";
        }
        if (name.startsWith("Read-Poller") || name.startsWith("Write-Poller")) {
            return "JDK socket pollers (wake parked virtual threads)";
        }
        if (name.startsWith("C1 ") || name.startsWith("C2 ")) {
            return "JIT compilers";
        }
        if (name.startsWith("GC ") || name.startsWith("G1 ") || name.equals("VM Thread") || name.startsWith("VM Periodic")) {
            return "GC and VM";
        }
        if (name.startsWith("JFR") || name.startsWith("Attach")) {
            return "JFR recorder";
        }
        return "other (" + name.replaceAll("[-#]?\\d+$", "") + ")";
    }

    /** The Redis store's figures, measured by their own script and copied in so the report has them all. */
    private void redisStore() throws IOException {
        Path redis = Path.of("docs", "BENCHMARKS-redis.md");
        line("## Redis store");
        line("");
        if (!Files.exists(redis)) {
            line("Not measured in this tree: `bench/run-redis-bench.sh` writes `docs/BENCHMARKS-redis.md`.");
            line("");
            return;
        }
        line("Reserve+settle through `RedisUsageStore` on one hot key, beside `redis-benchmark` running the same");
        line("reserve script on the same Redis (the ceiling), with 1, 2 and 16 callers. Measured separately by");
        line("`bench/run-redis-bench.sh`; its machine, commands and raw output are in `docs/BENCHMARKS-redis.md`.");
        line("");
        boolean results = false;
        for (String text : Files.readAllLines(redis)) {
            if (text.startsWith("## ")) {
                results = text.equals("## Results");
            } else if (results && text.startsWith("|")) {
                line(text);
            }
        }
        line("");
    }

    private void jmh() throws IOException {
        line("## Core library (JMH)");
        line("");
        line("The acquire+commit hot path of `keypool-core` beside the floor of one `AtomicLong` add, in the same run");
        line("(`AcquireCommitBenchmark`; `bench/run-core-bench.sh " + meta.getOrDefault("jmh_args", "") + "`, which this script runs");
        line("after the gateways have stopped). Goal: uncontended acquire+commit within 10× the floor and under 1 µs.");
        line("");
        boolean any = false;
        for (int threads : List.of(1, 2)) {
            Path file = run.resolve("jmh-t" + threads + ".txt");
            if (!Files.exists(file)) {
                continue;
            }
            any = true;
            List<String[]> rows = new ArrayList<>();
            Double floor = null;
            for (String text : Files.readAllLines(file)) {
                String[] tokens = text.trim().split("\\s+");
                int mode = List.of(tokens).indexOf("avgt");
                if (mode < 1 || !tokens[0].contains(".")) {
                    continue;
                }
                String name = tokens[0].substring(tokens[0].lastIndexOf('.') + 1);
                String params = String.join(" ", List.of(tokens).subList(1, mode)).replace("N/A", "").trim();
                List<String> rest = List.of(tokens).subList(mode + 1, tokens.length);
                double score;
                String error = "";
                if (rest.contains("±")) {
                    int plusMinus = rest.indexOf("±");
                    score = Double.parseDouble(rest.get(plusMinus - 1));
                    error = rest.get(plusMinus + 1);
                } else {
                    score = Double.parseDouble(rest.get(rest.size() - 2));
                }
                if (name.equals("atomicLongAdd")) {
                    floor = score;
                }
                rows.add(new String[] {name, params, String.valueOf(score), error});
            }
            line("**" + threads + " thread" + (threads > 1 ? "s" : "") + "**");
            line("");
            row("benchmark", "keys, pattern", "ns/op", "± (99.9 %)", "÷ floor");
            row("---", "---", "---:", "---:", "---:");
            for (String[] r : rows) {
                row(r[0], r[1].isEmpty() ? "—" : r[1], String.format(Locale.ROOT, "%.1f", Double.parseDouble(r[2])),
                        r[3].isEmpty() ? "" : r[3], ratio(Double.parseDouble(r[2]), floor));
            }
            line("");
        }
        if (!any) {
            line("(not run in this run: `JMH=0`, or the build of keypool-bench failed; see the run directory's `jmh.log`)");
            line("");
        }
    }

    private void method() {
        line("## How it is measured");
        line("");
        line("- **Upstream**: nginx (Debian) answers `POST /v1/chat/completions` with one fixed OpenAI-shaped completion with a");
        line("  `usage` block (`bench/nginx/upstream.conf`): at once (`return 200`), after a fixed delay (the echo module's");
        line("  `echo_sleep`, a timer, so a thousand requests can wait at once), or as an SSE stream. One worker.");
        line("- **Paths**: direct to the upstream; nginx `proxy_pass` with pooled keep-alive upstream connections");
        line("  (`bench/nginx/proxy.conf`); keypool (the server jar, 3 fake OpenAI keys, per-minute and per-day limits of 10^12");
        line("  and 10^15 tokens so nothing is refused, `OPENAI_BASE_URL` at the upstream); Portkey's gateway from npm, sent");
        line("  `x-portkey-provider: openai` and `x-portkey-custom-host: http://127.0.0.1:PORT/v1` (its way to reach an");
        line("  OpenAI-compatible host; loopback is in its default trusted hosts). Portkey's start script listens on every");
        line("  interface and has no host option, so `bench/portkey/loopback.mjs` is preloaded to bind it to 127.0.0.1.");
        line("  `@hono/node-server` is pinned to 1.14.1 through an npm override: with the newer versions npm resolves, Portkey");
        line("  1.15.2 fails every streamed answer with `TypeError: immutable` (Portkey-AI/gateway#1389).");
        line("- **Order**: inside each repetition, every path runs once, in an order rotated from one repetition to the next;");
        line("  every point is repeated `REPS` times and the median is reported. Every server listens on 127.0.0.1 only.");
        line("- **Load**: wrk 4.1 (Debian), 1 thread, keep-alive, `bench/wrk/chat.lua` (it POSTs the body and reports exact");
        line("  percentiles), for 1 connection and for saturation. wrk2 is not packaged in Debian, so the fixed rates use");
        line("  `GatewayLoad rate` (keypool-bench, JDK only, raw sockets, one thread per connection, open loop with");
        line("  coordinated-omission correction); its first `RATE_WARMUP` seconds are sent and not counted.");
        line("- **Warm-up**: each profile starts the gateways fresh and loads keypool for `WARMUP_SECONDS` (Portkey for half");
        line("  of it, nginx 2 s) before anything is measured; those results are thrown away.");
        line("- **Caveat**: the load generator shares the 2 cores with the server it measures, as the upstream does; the");
        line("  absolute figures are a floor for this machine, the ratios are the point.");
    }

    private static String number(Double value) {
        if (value == null) {
            return "—";
        }
        if (value == Math.rint(value) && Math.abs(value) < 1e9) {
            return String.format(Locale.ROOT, "%.0f", value);
        }
        return String.format(Locale.ROOT, "%.1f", value);
    }
}
