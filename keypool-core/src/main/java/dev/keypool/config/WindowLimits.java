package dev.keypool.config;

/**
 * The limits of one key: tokens per sliding minute and per day, and requests per sliding minute
 * and per day. {@link #UNLIMITED} marks a window with no limit (its variable was not set). A
 * request limit counts reservations, one per request, in the same minute and day windows as the
 * tokens; for SerpApi, whose token limits count searches already, it counts searches the same way.
 *
 * @param perMinute         tokens per sliding minute ({@code {P}_MAX_TOKENS_PER_MINUTE_i})
 * @param perDay            tokens per day ({@code {P}_MAX_TOKENS_PER_DAY_i})
 * @param requestsPerMinute requests per sliding minute ({@code {P}_MAX_REQUESTS_PER_MINUTE_i})
 * @param requestsPerDay    requests per day ({@code {P}_MAX_REQUESTS_PER_DAY_i})
 */
public record WindowLimits(long perMinute, long perDay, long requestsPerMinute, long requestsPerDay) {

    /** A window without a limit. */
    public static final long UNLIMITED = Long.MAX_VALUE;

    public static final WindowLimits NONE = new WindowLimits(UNLIMITED, UNLIMITED);

    public WindowLimits {
        positive("perMinute", perMinute);
        positive("perDay", perDay);
        positive("requestsPerMinute", requestsPerMinute);
        positive("requestsPerDay", requestsPerDay);
    }

    /** Token limits only; requests unlimited. */
    public WindowLimits(long perMinute, long perDay) {
        this(perMinute, perDay, UNLIMITED, UNLIMITED);
    }

    /** Token limits only; requests unlimited. */
    public static WindowLimits of(long perMinute, long perDay) {
        return new WindowLimits(perMinute, perDay);
    }

    /** Request limits only; tokens unlimited. */
    public static WindowLimits ofRequests(long requestsPerMinute, long requestsPerDay) {
        return new WindowLimits(UNLIMITED, UNLIMITED, requestsPerMinute, requestsPerDay);
    }

    /** These token limits with the given request limits. */
    public WindowLimits withRequests(long requestsPerMinute, long requestsPerDay) {
        return new WindowLimits(perMinute, perDay, requestsPerMinute, requestsPerDay);
    }

    public boolean minuteLimited() {
        return perMinute != UNLIMITED;
    }

    public boolean dayLimited() {
        return perDay != UNLIMITED;
    }

    public boolean requestMinuteLimited() {
        return requestsPerMinute != UNLIMITED;
    }

    public boolean requestDayLimited() {
        return requestsPerDay != UNLIMITED;
    }

    /** Whether any minute window, of tokens or of requests, has a limit. */
    public boolean anyMinuteLimited() {
        return minuteLimited() || requestMinuteLimited();
    }

    private static void positive(String field, long value) {
        if (value <= 0) {
            throw new IllegalArgumentException(field + " must be positive, was " + value);
        }
    }

    @Override
    public String toString() {
        return "limits[minute=" + (minuteLimited() ? perMinute : "unlimited")
                + ", day=" + (dayLimited() ? perDay : "unlimited")
                + (requestMinuteLimited() ? ", requestsPerMinute=" + requestsPerMinute : "")
                + (requestDayLimited() ? ", requestsPerDay=" + requestsPerDay : "") + "]";
    }
}
