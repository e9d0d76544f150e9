package dev.keypool.server.alerts;

import com.sun.net.httpserver.HttpServer;
import java.io.IOException;
import java.io.InputStream;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.URI;
import java.nio.charset.StandardCharsets;
import java.util.List;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.Executors;
import java.util.concurrent.atomic.AtomicInteger;

/**
 * A webhook receiver on 127.0.0.1 (what Slack's incoming webhook is to a real deployment): records
 * every POST and answers the scripted statuses in turn, the last one from then on.
 */
public final class WebhookReceiver implements AutoCloseable {

    private final HttpServer server;
    private final List<String> bodies = new CopyOnWriteArrayList<>();
    private final List<String> contentTypes = new CopyOnWriteArrayList<>();

    private WebhookReceiver(HttpServer server) {
        this.server = server;
    }

    public static WebhookReceiver start(int... statuses) throws IOException {
        HttpServer server = HttpServer.create(new InetSocketAddress(InetAddress.getLoopbackAddress(), 0), 0);
        WebhookReceiver receiver = new WebhookReceiver(server);
        AtomicInteger next = new AtomicInteger();
        server.createContext("/", exchange -> {
            try (InputStream in = exchange.getRequestBody()) {
                receiver.bodies.add(new String(in.readAllBytes(), StandardCharsets.UTF_8));
            }
            receiver.contentTypes.add(exchange.getRequestHeaders().getFirst("Content-Type"));
            int status = statuses[Math.min(next.getAndIncrement(), statuses.length - 1)];
            byte[] answer = "ok".getBytes(StandardCharsets.US_ASCII);
            exchange.sendResponseHeaders(status, answer.length);
            exchange.getResponseBody().write(answer);
            exchange.close();
        });
        server.setExecutor(Executors.newVirtualThreadPerTaskExecutor());
        server.start();
        return receiver;
    }

    public URI url() {
        return URI.create("http://127.0.0.1:" + server.getAddress().getPort() + "/services/T0/B0/webhook-token");
    }

    public List<String> bodies() {
        return List.copyOf(bodies);
    }

    public List<String> contentTypes() {
        return List.copyOf(contentTypes);
    }

    @Override
    public void close() {
        server.stop(0);
    }
}
