/**
 * The provider clients and their plumbing. Public only so that {@code dev.keypool.providers} can
 * reach them; not an API: names and shapes here change without notice.
 *
 * <p>Each client speaks one provider's native protocol, exactly as documented (request shapes,
 * response shapes, error bodies, headers), and turns every way a call can fail into a
 * {@link dev.keypool.failure.Failure} of the right {@link dev.keypool.failure.FailureKind}: the
 * provider's status and error body when it answered, the transport's exception when it did not.
 * No message that leaves this package holds a full key: each is scrubbed with
 * {@link dev.keypool.config.KeyMask#scrub} against the key the call used.
 */
package dev.keypool.providers.internal;
