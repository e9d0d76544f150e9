package dev.keypool.server;

import static org.assertj.core.api.Assertions.assertThat;

import dev.keypool.testing.CloseAfterEach;
import java.net.http.HttpResponse;
import org.junit.jupiter.api.extension.RegisterExtension;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

/**
 * The dashboard's content security policy is a response header, with {@code frame-ancestors 'none'}
 * (it was only a {@code <meta>} tag, which cannot forbid framing: a page could frame the dashboard
 * and trick clicks on its reset buttons).
 */
class DashboardHeadersTest {

    @RegisterExtension
    final CloseAfterEach closing = new CloseAfterEach();
    private final TestGateway server = closing.add(TestGateway.startWithoutKeys());

    @ParameterizedTest
    @ValueSource(strings = {"/", "/index.html", "/app.js", "/style.css", "/dashboard/"})
    void dashboardFiles_sendTheirSecurityHeaders(String path) {
        HttpResponse<String> response = server.get(path);

        assertThat(response.statusCode()).isEqualTo(200);
        assertThat(response.headers().firstValue("Content-Security-Policy")).hasValueSatisfying(policy -> assertThat(policy)
                .contains("frame-ancestors 'none'").contains("default-src 'self'").contains("script-src 'self'")
                .contains("object-src 'none'"));
        assertThat(response.headers().firstValue("X-Content-Type-Options")).hasValue("nosniff");
        assertThat(response.headers().firstValue("Referrer-Policy")).hasValue("no-referrer");
        assertThat(response.headers().firstValue("X-Frame-Options")).hasValue("DENY");
    }
}
