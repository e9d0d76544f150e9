package dev.keypool.bench;

import java.io.IOException;
import java.nio.file.Path;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.HashSet;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Set;
import jdk.jfr.consumer.RecordedClass;
import jdk.jfr.consumer.RecordedEvent;
import jdk.jfr.consumer.RecordedFrame;
import jdk.jfr.consumer.RecordedMethod;
import jdk.jfr.consumer.RecordedStackTrace;
import jdk.jfr.consumer.RecordingFile;

/**
 * Reads the JFR recording that {@code bench/run-gateway-bench.sh} takes of keypool at saturation
 * and prints, as Markdown, what the CPU samples are made of: by owner (the library a sample's
 * code belongs to), the hottest methods by self time and by inclusive time, what allocates, the
 * garbage collections, and the exceptions thrown.
 *
 * <p>A sample's owner is found by walking its stack from the top to the first frame of a library
 * named in {@link #OWNERS}: JDK utility code (collections, strings, locks, futures) is charged to
 * the library that called it. A stack that holds {@code Throwable.fillInStackTrace} is charged to
 * exception construction whoever threw.
 *
 * <p>Usage: {@code JfrProfile RECORDING [REQUESTS]}; with the number of requests served during the
 * recording, counts are also given per request.
 */
public final class JfrProfile {

    /** Package prefixes and the owner they name, most specific first. */
    private static final String[][] OWNERS = {
            {"dev.keypool.server.metrics.", "keypool-server: metrics"},
            {"dev.keypool.server.usage.", "keypool-server: usage recorder"},
            {"dev.keypool.server.feed.", "keypool-server: event feed"},
            {"dev.keypool.server.", "keypool-server: handlers, JSON in and out"},
            {"dev.keypool.providers.", "keypool-providers: routing, OpenAI client, token estimate"},
            {"dev.keypool.", "keypool-core: pool, reservations, events"},
            {"io.helidon.webclient.", "Helidon WebClient (to the upstream)"},
            {"io.helidon.", "Helidon webserver"},
            {"jdk.internal.net.http.", "JDK HttpClient (to the upstream)"},
            {"java.net.http.", "JDK HttpClient (to the upstream)"},
            {"com.fasterxml.jackson.", "Jackson"},
            {"com.knuddels.jtokkit.", "jtokkit (token estimate)"},
            {"ch.qos.logback.", "logging"},
            {"org.slf4j.", "logging"},
            {"io.micrometer.", "metrics library"},
            {"io.prometheus.", "metrics library"},
            {"sun.nio.ch.", "socket I/O (NIO)"},
            {"jdk.jfr.", "JFR itself"},
    };

    /** Frames that say nothing about where the time goes: thread and continuation plumbing. */
    private static final Set<String> PLUMBING = Set.of(
            "java.lang.Thread.run", "java.lang.Thread.runWith", "java.lang.VirtualThread.run",
            "jdk.internal.vm.Continuation.enter", "jdk.internal.vm.Continuation.enter0",
            "jdk.internal.vm.Continuation.enterSpecial", "java.util.concurrent.ThreadPoolExecutor.runWorker",
            "java.util.concurrent.ThreadPoolExecutor$Worker.run", "java.util.concurrent.ForkJoinWorkerThread.run",
            "java.util.concurrent.ForkJoinPool.runWorker", "java.util.concurrent.ForkJoinPool.scan",
            "java.util.concurrent.ForkJoinPool$WorkQueue.topLevelExec", "java.util.concurrent.ForkJoinTask.doExec",
            "io.helidon.common.task.InterruptableTask.call", "io.helidon.webserver.ThreadPerTaskExecutor$ThreadBoundFuture.run",
            "io.helidon.webserver.ConnectionHandler.run");

    private JfrProfile() {
    }

    public static void main(String[] args) throws IOException {
        if (args.length < 1) {
            System.err.println("usage: JfrProfile RECORDING [REQUESTS]");
            System.exit(2);
        }
        long requests = args.length > 1 ? Long.parseLong(args[1]) : 0;
        System.out.print(JfrProfile.of(Path.of(args[0])).report(requests));
    }

    private final Map<String, Long> owners = new HashMap<>();
    private final Map<String, Long> self = new HashMap<>();
    private final Map<String, Long> inclusive = new HashMap<>();
    private final Map<String, Long> calls = new HashMap<>();
    private final Map<String, Long> allocationByClass = new HashMap<>();
    private final Map<String, Long> allocationBySite = new HashMap<>();
    private final Map<String, Long> exceptions = new HashMap<>();
    private long samples;
    private long allocated;
    private long collections;
    private long throwablesFirst = -1;
    private long throwablesLast = -1;
    private Duration pauses = Duration.ZERO;
    private Duration longestPause = Duration.ZERO;
    private Instant first;
    private Instant last;

    /** Reads a recording. */
    static JfrProfile of(Path recording) throws IOException {
        JfrProfile profile = new JfrProfile();
        profile.read(recording);
        return profile;
    }

    private void read(Path recording) throws IOException {
        try (RecordingFile file = new RecordingFile(recording)) {
            while (file.hasMoreEvents()) {
                RecordedEvent event = file.readEvent();
                Instant at = event.getStartTime();
                if (first == null || at.isBefore(first)) {
                    first = at;
                }
                if (last == null || at.isAfter(last)) {
                    last = at;
                }
                switch (event.getEventType().getName()) {
                    case "jdk.ExecutionSample" -> sample(event.getStackTrace());
                    case "jdk.ObjectAllocationSample" -> allocation(event);
                    case "jdk.GarbageCollection" -> {
                        collections++;
                        Duration pause = event.getDuration("sumOfPauses");
                        pauses = pauses.plus(pause);
                        if (pause.compareTo(longestPause) > 0) {
                            longestPause = pause;
                        }
                    }
                    case "jdk.JavaExceptionThrow", "jdk.JavaErrorThrow" -> exception(event);
                    case "jdk.ExceptionStatistics" -> {
                        long throwables = event.getLong("throwables");
                        throwablesFirst = throwablesFirst < 0 ? throwables : Math.min(throwablesFirst, throwables);
                        throwablesLast = Math.max(throwablesLast, throwables);
                    }
                    default -> {
                    }
                }
            }
        }
    }

    /** Share (0 to 1) of the CPU samples charged to an owner named in {@link #OWNERS}. */
    double ownerShare(String owner) {
        return samples == 0 ? 0 : owners.getOrDefault(owner, 0L) / (double) samples;
    }

    /** Share of the CPU samples under a call out of keypool whose callee starts with the prefix. */
    double callShare(String calleePrefix) {
        long count = 0;
        for (Map.Entry<String, Long> call : calls.entrySet()) {
            String callee = call.getKey().substring(call.getKey().indexOf("→ `") + 3);
            if (callee.startsWith(calleePrefix)) {
                count = Math.max(count, call.getValue());
            }
        }
        return samples == 0 ? 0 : count / (double) samples;
    }

    /** The call out of keypool with the largest share whose callee starts with the prefix, or null. */
    String topCall(String calleePrefix) {
        return calls.entrySet().stream()
                .filter(call -> call.getKey().substring(call.getKey().indexOf("→ `") + 3).startsWith(calleePrefix))
                .max(Map.Entry.comparingByValue()).map(Map.Entry::getKey).orElse(null);
    }

    /** Share of the sampled allocation made first under a frame whose method starts with the prefix. */
    double allocationShare(String sitePrefix) {
        long weight = 0;
        for (Map.Entry<String, Long> site : allocationBySite.entrySet()) {
            if (site.getKey().startsWith(sitePrefix)) {
                weight += site.getValue();
            }
        }
        return allocated == 0 ? 0 : weight / (double) allocated;
    }

    long allocatedBytes() {
        return allocated;
    }

    /** The largest allocation sites (first keypool or library frame) with their shares, largest first. */
    Map<String, Double> topAllocationSites(int limit) {
        Map<String, Double> shares = new LinkedHashMap<>();
        top(allocationBySite, limit).forEach((site, weight) -> shares.put(site, allocated == 0 ? 0 : weight / (double) allocated));
        return shares;
    }

    long collections() {
        return collections;
    }

    Duration pauses() {
        return pauses;
    }

    Duration longestPause() {
        return longestPause;
    }

    /** Throwables created during the recording. */
    long throwables() {
        return throwablesLast >= 0 ? throwablesLast - throwablesFirst : exceptions.values().stream().mapToLong(Long::longValue).sum();
    }

    /** The most frequent sampled exception: "type at method: message". */
    String topException() {
        return exceptions.entrySet().stream().max(Map.Entry.comparingByValue()).map(Map.Entry::getKey).orElse(null);
    }

    long samples() {
        return samples;
    }

    private void sample(RecordedStackTrace stack) {
        if (stack == null || stack.getFrames().isEmpty()) {
            return;
        }
        samples++;
        List<RecordedFrame> frames = stack.getFrames();
        self.merge(name(frames.getFirst()), 1L, Long::sum);
        Set<String> seen = new HashSet<>();
        Set<String> seenCalls = new HashSet<>();
        String owner = null;
        boolean throwing = false;
        for (int i = 0; i < frames.size(); i++) {
            String method = name(frames.get(i));
            if (i + 1 < frames.size() && !method.startsWith("dev.keypool.")) {
                String caller = name(frames.get(i + 1));
                if (caller.startsWith("dev.keypool.") && !caller.contains("$$Lambda")
                        && !method.startsWith("io.helidon.webserver.http.Filters") && seenCalls.add(caller + method)) {
                    calls.merge("`" + caller + "` → `" + method + "`", 1L, Long::sum);
                }
            }
            if (method.startsWith("java.lang.Throwable.fillInStackTrace") || method.startsWith("java.lang.StackTraceElement")) {
                throwing = true;
            }
            if (owner == null) {
                owner = ownerOf(method);
            }
            if (!PLUMBING.contains(method) && seen.add(method)) {
                inclusive.merge(method, 1L, Long::sum);
            }
        }
        owners.merge(throwing ? "exception construction (stack walks)" : owner == null ? "JDK (other)" : owner, 1L, Long::sum);
    }

    private void allocation(RecordedEvent event) {
        long weight = event.getLong("weight");
        allocated += weight;
        RecordedClass type = event.getClass("objectClass");
        allocationByClass.merge(type == null ? "?" : type.getName(), weight, Long::sum);
        RecordedStackTrace stack = event.getStackTrace();
        String site = "?";
        if (stack != null) {
            for (RecordedFrame frame : stack.getFrames()) {
                String method = name(frame);
                if (ownerOf(method) != null) {
                    site = method;
                    break;
                }
            }
        }
        allocationBySite.merge(site, weight, Long::sum);
    }

    private void exception(RecordedEvent event) {
        RecordedClass thrown = event.getClass("thrownClass");
        String message = event.getString("message");
        String where = "?";
        RecordedStackTrace stack = event.getStackTrace();
        if (stack != null) {
            for (RecordedFrame frame : stack.getFrames()) {
                String method = name(frame);
                if (!method.startsWith("java.lang.") || method.startsWith("java.lang.Enum")) {
                    where = method;
                    break;
                }
            }
        }
        String key = (thrown == null ? "?" : thrown.getName()) + " at " + where
                + (message == null ? "" : ": \"" + (message.length() > 80 ? message.substring(0, 80) + "…" : message) + "\"");
        exceptions.merge(key, 1L, Long::sum);
    }

    private static String ownerOf(String method) {
        for (String[] owner : OWNERS) {
            if (method.startsWith(owner[0])) {
                return owner[1];
            }
        }
        return null;
    }

    private static String name(RecordedFrame frame) {
        RecordedMethod method = frame.getMethod();
        if (method == null) {
            return "?";
        }
        return method.getType().getName() + "." + method.getName();
    }

    String report(long requests) {
        StringBuilder out = new StringBuilder();
        double seconds = first == null ? 0 : Duration.between(first, last).toMillis() / 1000.0;
        out.append(String.format(Locale.ROOT, "%d CPU samples of Java code (jdk.ExecutionSample, 'profile' settings) over %.0f s",
                samples, seconds));
        if (requests > 0) {
            out.append(String.format(Locale.ROOT, ", %d requests served", requests));
        }
        out.append(".\n\n");

        out.append("**CPU samples by owner** (JDK utility code is charged to the library that called it):\n\n");
        out.append("| owner | share of samples |\n|---|---:|\n");
        top(owners, 20).forEach((name, count) -> out.append("| ").append(name).append(" | ").append(percent(count, samples)).append(" |\n"));

        out.append("\n**Hottest methods, self time** (the frame on top of the stack):\n\n");
        out.append("| method | share |\n|---|---:|\n");
        top(self, 15).forEach((name, count) -> out.append("| `").append(name).append("` | ").append(percent(count, samples)).append(" |\n"));

        out.append("\n**keypool's own methods, inclusive** (share of samples with the method anywhere on the stack):\n\n");
        out.append("| method | share |\n|---|---:|\n");
        Map<String, Long> owned = new HashMap<>();
        inclusive.forEach((name, count) -> {
            if (name.startsWith("dev.keypool.") && !name.contains("$$Lambda")) {
                owned.put(name, count);
            }
        });
        top(owned, 25).forEach((name, count) -> out.append("| `").append(name).append("` | ").append(percent(count, samples)).append(" |\n"));

        out.append("\n**Calls out of keypool's code, inclusive** (keypool method → the library or JDK method it calls, share of samples under that call):\n\n");
        out.append("| call | share |\n|---|---:|\n");
        top(calls, 20).forEach((name, count) -> out.append("| ").append(name).append(" | ").append(percent(count, samples)).append(" |\n"));

        out.append(String.format(Locale.ROOT, "%n**Allocation** (jdk.ObjectAllocationSample, sampled weight): %s in all",
                bytes(allocated)));
        if (requests > 0) {
            out.append(String.format(Locale.ROOT, ", about %s per request", bytes(allocated / requests)));
        }
        out.append(".\n\n| allocated type | share |\n|---|---:|\n");
        top(allocationByClass, 10).forEach((name, weight) -> out.append("| `").append(name).append("` | ").append(percent(weight, allocated)).append(" |\n"));
        out.append("\n| first keypool or library frame that allocated | share |\n|---|---:|\n");
        top(allocationBySite, 12).forEach((name, weight) -> out.append("| `").append(name).append("` | ").append(percent(weight, allocated)).append(" |\n"));

        out.append(String.format(Locale.ROOT, "%n**Garbage collection**: %d collections, %d ms of pauses in all, the longest %.1f ms.%n",
                collections, pauses.toMillis(), longestPause.toNanos() / 1e6));

        long sampled = exceptions.values().stream().mapToLong(Long::longValue).sum();
        long thrown = throwables();
        out.append(String.format(Locale.ROOT, "%n**Exceptions**: %d throwables created during the recording (jdk.ExceptionStatistics)", thrown));
        if (requests > 0) {
            out.append(String.format(Locale.ROOT, ", %.2f per request", (double) thrown / requests));
        }
        out.append(".\n");
        if (sampled > 0 && (requests == 0 || thrown >= 0.01 * requests)) {
            out.append("\n| thrown (jdk.JavaExceptionThrow, throttled sample): type, where, message | share |\n|---|---:|\n");
            top(exceptions, 8).forEach((name, count) -> out.append("| ").append(name.replace("|", "\\|")).append(" | ")
                    .append(percent(count, sampled)).append(" |\n"));
        }
        return out.toString();
    }

    private static Map<String, Long> top(Map<String, Long> counts, int limit) {
        List<Map.Entry<String, Long>> entries = new ArrayList<>(counts.entrySet());
        entries.sort(Map.Entry.<String, Long>comparingByValue().reversed());
        Map<String, Long> top = new LinkedHashMap<>();
        for (Map.Entry<String, Long> entry : entries.subList(0, Math.min(limit, entries.size()))) {
            top.put(entry.getKey(), entry.getValue());
        }
        return top;
    }

    private static String percent(long part, long whole) {
        return whole == 0 ? "—" : String.format(Locale.ROOT, "%.1f %%", 100.0 * part / whole);
    }

    private static String bytes(long bytes) {
        if (bytes >= 1L << 30) {
            return String.format(Locale.ROOT, "%.1f GiB", bytes / (double) (1L << 30));
        }
        if (bytes >= 1L << 20) {
            return String.format(Locale.ROOT, "%.1f MiB", bytes / (double) (1L << 20));
        }
        if (bytes >= 1L << 10) {
            return String.format(Locale.ROOT, "%.1f KiB", bytes / 1024.0);
        }
        return bytes + " B";
    }
}
