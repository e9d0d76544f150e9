package dev.keypool.config;

/**
 * The token limits of one key: per sliding minute and per day. {@link #UNLIMITED} marks a window
 * with no limit (its variable was not set).
 */
public record WindowLimits(long perMinute, long perDay) {

    /** A window without a limit. */
    public static final long UNLIMITED = Long.MAX_VALUE;

    public static final WindowLimits NONE = new WindowLimits(UNLIMITED, UNLIMITED);

    public WindowLimits {
        if (perMinute <= 0) {
            throw new IllegalArgumentException("perMinute must be positive, was " + perMinute);
        }
        if (perDay <= 0) {
            throw new IllegalArgumentException("perDay must be positive, was " + perDay);
        }
    }

    public static WindowLimits of(long perMinute, long perDay) {
        return new WindowLimits(perMinute, perDay);
    }

    public boolean minuteLimited() {
        return perMinute != UNLIMITED;
    }

    public boolean dayLimited() {
        return perDay != UNLIMITED;
    }

    @Override
    public String toString() {
        return "limits[minute=" + (minuteLimited() ? perMinute : "unlimited")
                + ", day=" + (dayLimited() ? perDay : "unlimited") + "]";
    }
}
