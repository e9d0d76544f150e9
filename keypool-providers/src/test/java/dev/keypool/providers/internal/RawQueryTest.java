package dev.keypool.providers.internal;

import static org.assertj.core.api.Assertions.assertThat;

import org.junit.jupiter.api.Test;

class RawQueryTest {

    @Test
    void without_removesEveryPairOfTheName_andKeepsTheRestAsWritten() {
        assertThat(RawQuery.without("key=a&alt=sse&key=b&$fields=x%2Cy", "key")).isEqualTo("alt=sse&$fields=x%2Cy");
        assertThat(RawQuery.without("%6Bey=encoded&q=caf%C3%A9+au+lait", "key")).isEqualTo("q=caf%C3%A9+au+lait");
        assertThat(RawQuery.without("key&alt=sse", "key")).as("a name without a value").isEqualTo("alt=sse");
        assertThat(RawQuery.without("keys=1&api_key=2&akey=3", "key")).isEqualTo("keys=1&api_key=2&akey=3");
        assertThat(RawQuery.without("a=1&&b=2&", "key")).as("empty pairs are not kept").isEqualTo("a=1&b=2");
    }

    @Test
    void without_leavesNoQuery_whenNothingIsLeft() {
        assertThat(RawQuery.without("key=a", "key")).isNull();
        assertThat(RawQuery.without("key=a&key=b", "key")).isNull();
        assertThat(RawQuery.without("", "key")).isNull();
        assertThat(RawQuery.without(null, "key")).isNull();
    }

    @Test
    void value_isTheFirstDecodedValue() {
        assertThat(RawQuery.value("alt=sse&alt=json", "alt")).isEqualTo("sse");
        assertThat(RawQuery.value("q=caf%C3%A9+au+lait", "q")).isEqualTo("café au lait");
        assertThat(RawQuery.value("%61lt=sse", "alt")).isEqualTo("sse");
        assertThat(RawQuery.value("flag&x=1", "flag")).isEmpty();
        assertThat(RawQuery.value("x=1", "alt")).isNull();
        assertThat(RawQuery.value(null, "alt")).isNull();
    }
}
