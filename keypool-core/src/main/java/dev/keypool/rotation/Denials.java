package dev.keypool.rotation;

import dev.keypool.config.Provider;
import dev.keypool.event.KeyEvent;
import dev.keypool.usage.DenialReason;
import dev.keypool.usage.KeyState;
import dev.keypool.usage.KeyStatus;
import java.util.ArrayList;
import java.util.EnumMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;

/**
 * What the keys said when none could take a request, and the refusal it adds up to: every key
 * cooling down, every key deactivated, a request larger than every limit, every key tried and
 * failed, or no room left (then the fullest window's reason), with the soonest moment a key frees
 * up as its {@code Retry-After}.
 */
final class Denials {
    final Map<DenialReason, Integer> counts = new EnumMap<>(DenialReason.class);
    long soonest = KeyState.NEVER;
    int total;
    /** How the excluded keys rest, when they do: cooling if any is, so back by itself. */
    DenialReason excludedResting;

    void add(DenialReason reason, long retryAt) {
        counts.merge(reason, 1, Integer::sum);
        total++;
        soonest = Math.min(soonest, retryAt);
    }

    void addExcluded(KeyState state) {
        soonest = Math.min(soonest, state.untilMillis());
        if (state.status() == KeyStatus.COOLING_DOWN) {
            excludedResting = DenialReason.COOLING_DOWN;
        } else if (excludedResting == null) {
            excludedResting = DenialReason.DEACTIVATED;
        }
    }

    boolean all(DenialReason reason) {
        return total > 0 && counts.getOrDefault(reason, 0) == total;
    }

    /** For refusals of mixed kinds: a full window (minute first, tokens first) if any key had one, else the commonest reason. */
    DenialReason mixed() {
        if (counts.containsKey(DenialReason.MINUTE_LIMIT)) {
            return DenialReason.MINUTE_LIMIT;
        }
        if (counts.containsKey(DenialReason.REQUEST_MINUTE_LIMIT)) {
            return DenialReason.REQUEST_MINUTE_LIMIT;
        }
        if (counts.containsKey(DenialReason.DAY_LIMIT)) {
            return DenialReason.DAY_LIMIT;
        }
        if (counts.containsKey(DenialReason.REQUEST_DAY_LIMIT)) {
            return DenialReason.REQUEST_DAY_LIMIT;
        }
        return counts.entrySet().stream().max(Map.Entry.comparingByValue()).map(Map.Entry::getKey).orElseThrow();
    }

    /**
     * The refusal these denials add up to, for a request of {@code tokens} on {@code provider}'s keys
     * ({@code allTried}: every key was excluded because it was tried and failed), with the
     * {@link KeyEvent.PoolExhausted} it stands for (none after every key failed: their failures say it).
     */
    NoAvailableKeyException refusal(Provider provider, String model, long tokens, long now, boolean allTried) {
        Denials denials = this;
        NoAvailableKeyException.Reason reason;
        DenialReason dominant;
        if (denials.total == 0) {
            reason = allTried ? NoAvailableKeyException.Reason.ALL_KEYS_FAILED : NoAvailableKeyException.Reason.NO_KEYS;
            dominant = allTried ? denials.excludedResting : null;
        } else if (denials.all(DenialReason.COOLING_DOWN)) {
            reason = NoAvailableKeyException.Reason.ALL_COOLING_DOWN;
            dominant = DenialReason.COOLING_DOWN;
        } else if (denials.all(DenialReason.DEACTIVATED)) {
            reason = NoAvailableKeyException.Reason.ALL_DEACTIVATED;
            dominant = DenialReason.DEACTIVATED;
        } else if (denials.all(DenialReason.EXCEEDS_LIMIT)) {
            reason = NoAvailableKeyException.Reason.REQUEST_TOO_LARGE;
            dominant = DenialReason.EXCEEDS_LIMIT;
        } else {
            reason = NoAvailableKeyException.Reason.NO_HEADROOM;
            dominant = denials.mixed();
        }
        long retryAt = denials.soonest;
        // Every key tried and failed is the end of a retry, not a pool without room: their failures say it.
        KeyEvent.PoolExhausted event = reason == NoAvailableKeyException.Reason.ALL_KEYS_FAILED ? null
                : new KeyEvent.PoolExhausted(now, provider, model, tokens, dominant, retryAt);
        return new NoAvailableKeyException(provider, reason, retryAt,
                describe(provider, model, tokens, reason, denials, retryAt, now), null, null, event);
    }

    private static String describe(Provider provider, String model, long tokens, NoAvailableKeyException.Reason reason,
            Denials denials, long retryAt, long now) {
        String what = "No " + provider.id() + " key can take " + tokens + " tokens"
                + (model == null ? "" : " for " + model) + ": ";
        String why = switch (reason) {
            case NO_KEYS -> "no " + provider.id() + " keys are configured (set "
                    + provider.envPrefix() + "_API_KEYS)";
            case ALL_COOLING_DOWN -> "all " + denials.total + " keys are cooling down";
            case ALL_DEACTIVATED -> "all " + denials.total + " keys are deactivated";
            case REQUEST_TOO_LARGE -> "the request is larger than every key's limit";
            case ALL_KEYS_FAILED -> "every key was tried and failed";
            case NO_HEADROOM -> "no key has room left (" + summary(denials) + ")";
        };
        String when = retryAt == KeyState.NEVER ? "; none frees up without a reset"
                : "; the soonest frees up in " + Math.max(1, (retryAt - now + 999) / 1000) + " s";
        return what + why + when;
    }

    private static String summary(Denials denials) {
        List<String> parts = new ArrayList<>();
        denials.counts.forEach((reason, count) -> parts.add(count + " " + reason.name().toLowerCase(Locale.ROOT)
                .replace('_', ' ')));
        return String.join(", ", parts);
    }
}
