package dev.keypool.redis;

import dev.keypool.failure.FailureKind;
import dev.keypool.usage.KeyState;
import dev.keypool.usage.KeyStatus;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;

/**
 * A {@link KeyState} as the field/value pairs of its Redis hash. {@link KeyState#ACTIVE} is no
 * pairs (the hash is deleted); a field that is {@code null} is left out, so that equal states
 * have equal hashes and compare-and-set can compare them field by field.
 */
final class StateCodec {

    private static final String STATUS = "status";
    private static final String KIND = "kind";
    private static final String REASON = "reason";
    private static final String UNTIL = "until";

    private StateCodec() {
    }

    static List<String> encode(KeyState state) {
        List<String> pairs = new ArrayList<>(8);
        if (state.equals(KeyState.ACTIVE)) {
            return pairs;
        }
        pairs.add(STATUS);
        pairs.add(state.status().name());
        if (state.kind() != null) {
            pairs.add(KIND);
            pairs.add(state.kind().name());
        }
        if (state.reason() != null) {
            pairs.add(REASON);
            pairs.add(state.reason());
        }
        pairs.add(UNTIL);
        pairs.add(Long.toString(state.untilMillis()));
        return pairs;
    }

    /** Decodes the flat field/value list a script returns. */
    static KeyState decode(List<?> flat) {
        Map<String, String> fields = new HashMap<>();
        for (int i = 0; i + 1 < flat.size(); i += 2) {
            fields.put(String.valueOf(flat.get(i)), String.valueOf(flat.get(i + 1)));
        }
        return decode(fields);
    }

    static KeyState decode(Map<String, String> fields) {
        String status = fields.get(STATUS);
        if (status == null) {
            return KeyState.ACTIVE;
        }
        String kind = fields.get(KIND);
        return new KeyState(KeyStatus.valueOf(status), kind == null ? null : FailureKind.valueOf(kind),
                fields.get(REASON), Long.parseLong(fields.getOrDefault(UNTIL, "0")));
    }
}
