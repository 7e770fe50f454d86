package dev.carapace.server;

import com.fasterxml.jackson.databind.JsonNode;
import com.sun.net.httpserver.HttpServer;

import java.io.IOException;
import java.io.InputStream;
import java.net.InetSocketAddress;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.Deque;
import java.util.List;
import java.util.concurrent.ConcurrentLinkedDeque;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.Executors;

/**
 * A local webhook endpoint for alert tests: records every POST (and the status it answered), answering with the
 * statuses queued by {@link #failNext}, then 200.
 */
final class WebhookReceiver implements AutoCloseable {

    record Delivery(String body, int answered, long atMillis) {
        JsonNode json() { return GatewayHarness.json(body); }
    }

    private final HttpServer server;
    private final List<Delivery> deliveries = new CopyOnWriteArrayList<>();
    private final Deque<Integer> statuses = new ConcurrentLinkedDeque<>();

    WebhookReceiver() throws IOException {
        server = HttpServer.create(new InetSocketAddress("127.0.0.1", 0), 0);
        server.setExecutor(Executors.newVirtualThreadPerTaskExecutor());
        server.createContext("/hook", exchange -> {
            String body;
            try (InputStream in = exchange.getRequestBody()) {
                body = new String(in.readAllBytes(), StandardCharsets.UTF_8);
            }
            Integer queued = statuses.pollFirst();
            int status = queued == null ? 200 : queued;
            deliveries.add(new Delivery(body, status, System.currentTimeMillis()));
            exchange.sendResponseHeaders(status, -1);
            exchange.close();
        });
        server.start();
    }

    String url() { return "http://127.0.0.1:" + server.getAddress().getPort() + "/hook"; }

    /** The next POSTs are answered with these statuses. */
    void failNext(int... codes) {
        for (int c : codes) statuses.addLast(c);
    }

    List<Delivery> deliveries() { return new ArrayList<>(deliveries); }

    /** Deliveries answered 2xx. */
    List<Delivery> delivered() { return deliveries.stream().filter(d -> d.answered() / 100 == 2).toList(); }

    @Override
    public void close() { server.stop(0); }
}
