package dev.keypool.providers.internal;

import dev.keypool.providers.relay.UsageSpec;
import dev.keypool.rotation.TokenUsage;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;

/**
 * Reads the few values the pool needs out of an answer as its bytes pass by: the usage counts and
 * the ids of objects it created. It is a JSON tokenizer that keeps only the path of field names
 * from the document's root and the values at the paths asked for; every other value is skipped
 * byte by byte, so its memory is fixed whatever the answer (a 40 MB embedding list, a base64 image)
 * and nothing is built, neither tree nor string.
 *
 * <h2>Documents</h2>
 * A document is one root object: the whole of a plain answer, the data of one server-sent event,
 * one line of NDJSON, or, with {@code arrayRoot}, each element of a top-level array (Gemini's stream
 * without {@code alt=sse}). Usage is read per document; the last document that reported any wins,
 * which is right for OpenAI (only the last chunk has it) and for Gemini (each chunk's is cumulative).
 *
 * <p>Input that is not JSON (an HTML error page, an SSE {@code [DONE]}) just yields nothing. Not
 * thread-safe; one scanner reads one answer.
 */
public final class AnswerScanner {

    /** Deeper nesting is followed but never matched: no path asked for is that deep. */
    private static final int MAX_DEPTH = 32;
    /** Longest field name or captured value kept; longer ones cannot match and are skipped. */
    private static final int MAX_CAPTURE = 256;

    private final UsageSpec usageSpec;
    private final List<List<String>> idPaths;
    private final int rootDepth;

    private final boolean[] array = new boolean[MAX_DEPTH];
    private final String[] names = new String[MAX_DEPTH];
    /** Whether the object at a level is expecting a key (rather than a value) next. */
    private final boolean[] expectingKey = new boolean[MAX_DEPTH];
    private int depth;

    private final byte[] capture = new byte[MAX_CAPTURE];
    private int captured;
    private boolean overflow;

    private State state = State.VALUE;
    private boolean escape;
    /** What the string or scalar being read is: a key, a value to keep, or nothing of interest. */
    private Target target = Target.NONE;
    private int targetId = -1;
    private boolean broken;

    private long prompt = -1;
    private long completion = -1;
    private long total = -1;
    private TokenUsage usage;
    private final List<String> ids = new ArrayList<>(1);

    private enum State { VALUE, STRING, SCALAR }

    private enum Target { NONE, KEY, PROMPT, COMPLETION, TOTAL, ID }

    /**
     * @param usage     where the counts are, or {@code null} to read none
     * @param idPaths   paths of the ids to collect (may be empty)
     * @param arrayRoot whether the documents are the elements of a top-level array
     */
    public AnswerScanner(UsageSpec usage, List<List<String>> idPaths, boolean arrayRoot) {
        this.usageSpec = usage;
        this.idPaths = idPaths;
        this.rootDepth = arrayRoot ? 1 : 0;
    }

    /** Feeds the next bytes of the answer (a document may be split anywhere). */
    public void feed(byte[] bytes, int offset, int length) {
        int end = offset + length;
        for (int i = offset; i < end && !broken; i++) {
            step(bytes[i]);
        }
    }

    /** Scans one whole document on its own, as the data of one event or one line. */
    public void document(byte[] bytes, int offset, int length) {
        reset();
        feed(bytes, offset, length);
        if (state == State.SCALAR) {
            endScalar();
        }
        reset();
    }

    /** The usage of the last document that reported one, or {@code null}. */
    public TokenUsage usage() {
        return usage;
    }

    /** The ids collected, in order. */
    public List<String> ids() {
        return ids;
    }

    private void reset() {
        depth = 0;
        state = State.VALUE;
        escape = false;
        target = Target.NONE;
        broken = false;
    }

    private void step(byte b) {
        switch (state) {
            case STRING -> string(b);
            case SCALAR -> {
                if (b == ',' || b == '}' || b == ']' || b == ' ' || b == '\n' || b == '\r' || b == '\t') {
                    endScalar();
                    structural(b);
                } else {
                    keep(b);
                }
            }
            case VALUE -> structural(b);
        }
    }

    private void structural(byte b) {
        switch (b) {
            case ' ', '\n', '\r', '\t' -> { }
            case '{' -> open(false);
            case '[' -> open(true);
            case '}', ']' -> close();
            case ':' -> {
                if (depth > 0 && depth <= MAX_DEPTH) {
                    expectingKey[depth - 1] = false;
                }
            }
            case ',' -> {
                if (depth > 0 && depth <= MAX_DEPTH && !array[depth - 1]) {
                    expectingKey[depth - 1] = true;
                }
            }
            case '"' -> {
                state = State.STRING;
                escape = false;
                if (depth > 0 && depth <= MAX_DEPTH && !array[depth - 1] && expectingKey[depth - 1]) {
                    startCapture(Target.KEY);
                } else {
                    valueStarts(true);
                }
            }
            default -> {
                state = State.SCALAR;
                valueStarts(false);
                keep(b);
            }
        }
    }

    private void open(boolean isArray) {
        if (depth == rootDepth && !isArray) {
            prompt = -1;
            completion = -1;
            total = -1;
        }
        if (depth < MAX_DEPTH) {
            array[depth] = isArray;
            expectingKey[depth] = !isArray;
            names[depth] = null;
        }
        depth++;
    }

    private void close() {
        if (depth == 0) {
            broken = true;
            return;
        }
        depth--;
        if (depth == rootDepth && (depth >= MAX_DEPTH || !array[depth])) {
            endDocument();
        }
    }

    private void endDocument() {
        if (usageSpec != null) {
            TokenUsage reported = usageSpec.usage(prompt, completion, total);
            if (reported != null) {
                usage = reported;
            }
        }
    }

    private void string(byte b) {
        if (escape) {
            escape = false;
            keep(b);
            return;
        }
        if (b == '\\') {
            escape = true;
            // an escaped value is never one we keep: ids and counts are plain
            overflow = true;
            return;
        }
        if (b == '"') {
            state = State.VALUE;
            endString();
            return;
        }
        keep(b);
    }

    private void keep(byte b) {
        if (target == Target.NONE) {
            return;
        }
        if (captured == MAX_CAPTURE) {
            overflow = true;
        } else {
            capture[captured++] = b;
        }
    }

    private void startCapture(Target what) {
        target = what;
        captured = 0;
        overflow = false;
    }

    /** A value starts at the current level: decides whether it is one to keep. */
    private void valueStarts(boolean isString) {
        target = Target.NONE;
        int level = depth - rootDepth;
        if (depth > MAX_DEPTH || level <= 0 || array[depth - 1] || !onObjectPath()) {
            return;
        }
        String field = names[depth - 1];
        if (field == null) {
            return;
        }
        if (!isString && usageSpec != null && level == usageSpec.path().size() + 1 && pathIs(usageSpec.path())) {
            if (field.equals(usageSpec.prompt())) {
                startCapture(Target.PROMPT);
            } else if (field.equals(usageSpec.completion())) {
                startCapture(Target.COMPLETION);
            } else if (field.equals(usageSpec.total())) {
                startCapture(Target.TOTAL);
            }
            return;
        }
        if (isString) {
            for (int i = 0; i < idPaths.size(); i++) {
                List<String> path = idPaths.get(i);
                if (path.size() == level && field.equals(path.get(level - 1)) && pathIs(path.subList(0, level - 1))) {
                    targetId = i;
                    startCapture(Target.ID);
                    return;
                }
            }
        }
    }

    /** Whether every container from the document's root to here is an object. */
    private boolean onObjectPath() {
        for (int i = rootDepth; i < depth; i++) {
            if (array[i]) {
                return false;
            }
        }
        return true;
    }

    /** Whether the names of the enclosing objects, from the root, are {@code path}. */
    private boolean pathIs(List<String> path) {
        for (int i = 0; i < path.size(); i++) {
            if (!path.get(i).equals(names[rootDepth + i])) {
                return false;
            }
        }
        return true;
    }

    private void endString() {
        Target what = target;
        target = Target.NONE;
        if (what == Target.KEY) {
            if (depth > 0 && depth <= MAX_DEPTH) {
                names[depth - 1] = overflow ? null : new String(capture, 0, captured, StandardCharsets.UTF_8);
            }
        } else if (what == Target.ID && !overflow && targetId >= 0) {
            ids.add(new String(capture, 0, captured, StandardCharsets.UTF_8));
        }
    }

    private void endScalar() {
        state = State.VALUE;
        Target what = target;
        target = Target.NONE;
        if (what == Target.NONE || overflow) {
            return;
        }
        long value = parseCount();
        switch (what) {
            case PROMPT -> prompt = value;
            case COMPLETION -> completion = value;
            case TOTAL -> total = value;
            default -> { }
        }
    }

    /** A non-negative whole count, or -1 (a null, a fraction, anything else). */
    private long parseCount() {
        if (captured == 0 || captured > 18) {
            return -1;
        }
        long value = 0;
        for (int i = 0; i < captured; i++) {
            byte digit = capture[i];
            if (digit < '0' || digit > '9') {
                return -1;
            }
            value = value * 10 + (digit - '0');
        }
        return value;
    }
}
