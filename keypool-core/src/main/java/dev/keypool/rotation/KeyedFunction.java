package dev.keypool.rotation;

/** A user's function that takes the API key first, as under the seed's {@code @with_api_key_rotation}. */
@FunctionalInterface
public interface KeyedFunction<A, R> {

    R apply(String apiKey, A argument) throws Exception;
}
