package dev.keypool.config;

import java.util.Collection;
import java.util.Locale;
import java.util.Set;
import java.util.TreeSet;

/**
 * Refuses a {@code KEYPOOL_*} variable that no module declares, so that a typo stops start-up
 * instead of being ignored: {@code KEYPOOL_MAX_INFLIGHT is not a keypool setting; did you mean
 * KEYPOOL_MAX_IN_FLIGHT?}. Each module declares its names beside the code that reads them
 * ({@link EnvConfigLoader#SETTINGS}, the providers' and the server's settings); the process that
 * knows every module on its path (the gateway's {@code Main}) puts them together.
 */
public final class KnownSettings {

    /** The prefix of keypool's own variables; variables without it belong to others (or to the seed's format). */
    public static final String PREFIX = "KEYPOOL_";

    /** The nearest known name is suggested only within this many edits; a farther one is no typo. */
    private static final int MAX_SUGGESTION_DISTANCE = 4;

    private KnownSettings() {
    }

    /**
     * @param present the variables set (environment and {@code .env})
     * @param known   every module's declared names
     * @throws ConfigException naming the first unknown {@code KEYPOOL_*} variable (in name order)
     *                         and the nearest known name
     */
    public static void requireKnown(Collection<String> present, Collection<? extends Collection<String>> known) {
        Set<String> names = new TreeSet<>();
        known.forEach(names::addAll);
        for (String name : new TreeSet<>(present)) {
            if (name.startsWith(PREFIX) && !names.contains(name)) {
                String nearest = nearest(name, names);
                throw new ConfigException(name, "is not a keypool setting"
                        + (nearest == null ? "" : "; did you mean " + nearest + "?")
                        + " (a typo would otherwise be ignored)");
            }
        }
    }

    /** The known name fewest edits away, or {@code null} when none is close. */
    static String nearest(String name, Collection<String> known) {
        String best = null;
        int bestDistance = Integer.MAX_VALUE;
        String upper = name.toUpperCase(Locale.ROOT);
        for (String candidate : known) {
            int distance = distance(upper, candidate);
            if (distance < bestDistance) {
                best = candidate;
                bestDistance = distance;
            }
        }
        return bestDistance <= MAX_SUGGESTION_DISTANCE ? best : null;
    }

    /** Levenshtein distance, two rows. */
    static int distance(String a, String b) {
        int[] previous = new int[b.length() + 1];
        int[] current = new int[b.length() + 1];
        for (int j = 0; j <= b.length(); j++) {
            previous[j] = j;
        }
        for (int i = 1; i <= a.length(); i++) {
            current[0] = i;
            for (int j = 1; j <= b.length(); j++) {
                int substitution = previous[j - 1] + (a.charAt(i - 1) == b.charAt(j - 1) ? 0 : 1);
                current[j] = Math.min(substitution, Math.min(previous[j] + 1, current[j - 1] + 1));
            }
            int[] swap = previous;
            previous = current;
            current = swap;
        }
        return previous[b.length()];
    }
}
