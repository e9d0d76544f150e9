package dev.keypool.providers;

/**
 * Whether and which tools the model may call.
 *
 * @param function with {@link Mode#REQUIRED}, the one tool it must call; {@code null} for any
 */
public record ToolChoice(Mode mode, String function) {

    /** The model decides (the default when tools are given). */
    public static final ToolChoice AUTO = new ToolChoice(Mode.AUTO, null);
    /** The model calls no tool. */
    public static final ToolChoice NONE = new ToolChoice(Mode.NONE, null);
    /** The model calls at least one tool. */
    public static final ToolChoice REQUIRED = new ToolChoice(Mode.REQUIRED, null);

    public enum Mode { AUTO, NONE, REQUIRED }

    public ToolChoice {
        if (mode == null) {
            throw new IllegalArgumentException("a tool choice needs its mode");
        }
        if (function != null && mode != Mode.REQUIRED) {
            throw new IllegalArgumentException("only a required tool choice names a function");
        }
    }

    /** The model must call {@code name}. */
    public static ToolChoice function(String name) {
        if (name == null || name.isBlank()) {
            throw new IllegalArgumentException("the function to call needs its name");
        }
        return new ToolChoice(Mode.REQUIRED, name);
    }
}
