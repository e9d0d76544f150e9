package dev.keypool.providers.internal;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import java.lang.reflect.Method;
import java.lang.reflect.Modifier;
import java.util.Arrays;
import org.junit.jupiter.api.Test;

class JsonTest {

    record KeyView(String maskedKey, String reason) {
    }

    @Test
    void write_namesKeypoolsRecordsInSnakeCase_withTheirNulls() {
        assertThat(Json.write(new KeyView("sk-p\u2026key1", null)))
                .isEqualTo("{\"masked_key\":\"sk-p\u2026key1\",\"reason\":null}");
    }

    @Test
    void write_leavesATreeAsItIs() {
        ObjectNode tree = Json.object().put("camelCase", 1).put("snake_case", 2);

        assertThat(Json.write(tree)).isEqualTo("{\"camelCase\":1,\"snake_case\":2}");
    }

    @Test
    void issue13_theCodecHandsOutNoMapperAnyoneCouldReconfigure() {
        assertThat(Arrays.stream(Json.class.getDeclaredFields()))
                .allSatisfy(field -> assertThat(Modifier.isPublic(field.getModifiers())).as(field.getName()).isFalse());
        assertThat(Arrays.stream(Json.class.getMethods()).map(Method::getReturnType))
                .doesNotContain(ObjectMapper.class);
    }
}
