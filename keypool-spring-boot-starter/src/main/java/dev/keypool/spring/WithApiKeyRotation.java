package dev.keypool.spring;

import java.lang.annotation.Documented;
import java.lang.annotation.ElementType;
import java.lang.annotation.Retention;
import java.lang.annotation.RetentionPolicy;
import java.lang.annotation.Target;

/**
 * The Java form of the seed's {@code @with_api_key_rotation}: a call of the annotated method on a
 * Spring bean gets a pooled key of {@link #provider()} in its key parameter (the one marked
 * {@link PooledKey}, else the first, which must then be a {@code String}), with
 * {@link #tokensNeeded()} reserved on it. When the method fails with a rate limit, spent quota, an
 * invalid key, a server error or an unreachable provider (told as the seed tells it: the exception's
 * kind or its message, "429", "quota exceeded", …), the key is rested or deactivated as the pool
 * does, and the method runs again with the next key, each key at most once. Any other failure is
 * the method's own and is thrown as it is. When no key is left, {@code NoAvailableKeyException}
 * says why and when the soonest key frees up.
 *
 * <pre>{@code
 * @WithApiKeyRotation(provider = "openai", tokensNeeded = 2000)
 * public String callOpenAi(@PooledKey String apiKey, String prompt) { … }
 * }</pre>
 *
 * <h2>With resilience4j</h2>
 * It is applied innermost, next to the method: inside resilience4j's {@code @Retry},
 * {@code @CircuitBreaker}, {@code @RateLimiter}, {@code @TimeLimiter} and {@code @Bulkhead}, so
 * their order is {@code Retry(CircuitBreaker(RateLimiter(TimeLimiter(Bulkhead(WithApiKeyRotation(method))))))}.
 * One attempt of a resilience4j {@code Retry} is one pass over the pool: a rate limit on one key is
 * answered by the next key before resilience4j sees anything, and only a spent pool
 * ({@code NoAvailableKeyException}) reaches its retry, which should then wait at least the
 * exception's {@code retryAfter}. A {@code RateLimiter} limits the application's calls, not a key's.
 */
@Target(ElementType.METHOD)
@Retention(RetentionPolicy.RUNTIME)
@Documented
public @interface WithApiKeyRotation {

    /** The provider whose keys are pooled: {@code openai}, {@code gemini} or {@code serp}. */
    String provider();

    /** The tokens reserved on the key for one call (committed whole unless the call reports its usage). */
    long tokensNeeded() default 0;

    /** Only keys configured for this model (empty: any key of the provider). */
    String model() default "";
}
