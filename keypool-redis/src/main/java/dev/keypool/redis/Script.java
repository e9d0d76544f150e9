package dev.keypool.redis;

import io.lettuce.core.ScriptOutputType;
import java.io.IOException;
import java.io.InputStream;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.util.HexFormat;

/**
 * The Lua scripts of the store, one per operation, each read from this package's resources with
 * {@code common.lua} put before it. The SHA-1 is computed here, so that {@code EVALSHA} works
 * even when the scripts could not be loaded at start.
 */
enum Script {
    RESERVE("reserve.lua", ScriptOutputType.MULTI),
    SETTLE("settle.lua", ScriptOutputType.MULTI),
    RELEASE("release.lua", ScriptOutputType.MULTI),
    USAGE("usage.lua", ScriptOutputType.MULTI),
    SET_STATE("set_state.lua", ScriptOutputType.INTEGER),
    COMPARE_AND_SET_STATE("compare_and_set_state.lua", ScriptOutputType.INTEGER),
    CHARGE("charge.lua", ScriptOutputType.INTEGER),
    LEGACY_READ("legacy_read.lua", ScriptOutputType.MULTI),
    LEGACY_MERGE("legacy_merge.lua", ScriptOutputType.INTEGER),
    KEY_ID_SECRET("key_id_secret.lua", ScriptOutputType.VALUE),
    RESTORE("restore.lua", ScriptOutputType.INTEGER);

    private final String fileName;
    private final ScriptOutputType outputType;
    private final String body;
    private final String sha;

    Script(String fileName, ScriptOutputType outputType) {
        this.fileName = fileName;
        this.outputType = outputType;
        this.body = resource("common.lua") + resource(fileName);
        this.sha = sha1(body);
    }

    String fileName() {
        return fileName;
    }

    ScriptOutputType outputType() {
        return outputType;
    }

    String body() {
        return body;
    }

    String sha() {
        return sha;
    }

    private static String resource(String name) {
        try (InputStream in = Script.class.getResourceAsStream(name)) {
            if (in == null) {
                throw new IllegalStateException("Missing script resource dev/keypool/redis/" + name);
            }
            return new String(in.readAllBytes(), StandardCharsets.UTF_8);
        } catch (IOException e) {
            throw new UncheckedIOException("Cannot read script resource " + name, e);
        }
    }

    private static String sha1(String text) {
        try {
            return HexFormat.of().formatHex(MessageDigest.getInstance("SHA-1").digest(text.getBytes(StandardCharsets.UTF_8)));
        } catch (NoSuchAlgorithmException e) {
            throw new IllegalStateException("The JDK has no SHA-1", e);
        }
    }
}
