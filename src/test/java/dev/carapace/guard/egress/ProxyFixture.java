package dev.carapace.guard.egress;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.carapace.guard.AuditEvent;
import dev.carapace.guard.NetworkRules;
import dev.carapace.guard.NetworkRules.NetworkDecision;
import dev.carapace.guard.NetworkRules.Verdict;

import java.io.BufferedInputStream;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.InputStream;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.Socket;
import java.net.UnknownHostException;
import java.nio.charset.StandardCharsets;
import java.time.Clock;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.function.Function;

/** A proxy on loopback TCP with scripted rules and DNS, and what it decided, resolved and audited. */
final class ProxyFixture implements AutoCloseable {

    static final ObjectMapper JSON = new ObjectMapper();

    final List<AuditEvent> audit = new CopyOnWriteArrayList<>();
    final List<String> resolved = new CopyOnWriteArrayList<>();
    final List<NetworkRules.NetworkRequest> asked = new CopyOnWriteArrayList<>();
    final Map<String, Function<Integer, List<InetAddress>>> dns = new ConcurrentHashMap<>();
    final EgressProxy proxy;
    final Listener listener;

    ProxyFixture(NetworkRules rules, SecretStore secrets, Set<Integer> tlsPorts) throws Exception {
        Resolver resolver = name -> {
            resolved.add(name);
            Function<Integer, List<InetAddress>> answer = dns.get(name);
            if (answer == null) throw new UnknownHostException(name);
            return answer.apply((int) resolved.stream().filter(name::equals).count());
        };
        NetworkRules recording = request -> {
            asked.add(request);
            return rules.decide(request);
        };
        proxy = new EgressProxy(recording, resolver, secrets, audit::add, Clock.systemUTC(),
                new EgressProxy.Options(Duration.ofSeconds(2), Duration.ofSeconds(20), TestUpstream.clientContext(),
                        tlsPorts));
        listener = proxy.listen(new InetSocketAddress(InetAddress.getLoopbackAddress(), 0), "agent-1");
    }

    ProxyFixture(NetworkRules rules) throws Exception {
        this(rules, SecretStore.empty(), Set.of(443));
    }

    /** Every name resolves to these addresses, whatever the call. */
    ProxyFixture resolving(String name, String... addresses) {
        List<InetAddress> list = addresses(addresses);
        dns.put(name, call -> list);
        return this;
    }

    /** A rebinding name: the first, third... lookup answers {@code odd}, the second, fourth... {@code even}. */
    ProxyFixture flipping(String name, String odd, String even) {
        List<InetAddress> first = addresses(odd);
        List<InetAddress> second = addresses(even);
        dns.put(name, call -> call % 2 == 1 ? first : second);
        return this;
    }

    private static List<InetAddress> addresses(String... addresses) {
        List<InetAddress> list = new ArrayList<>();
        for (String a : addresses) {
            try {
                list.add(InetAddress.getByName(a));
            } catch (UnknownHostException e) {
                throw new IllegalArgumentException(a);
            }
        }
        return list;
    }

    int port() {
        return ((InetSocketAddress) listener.address()).getPort();
    }

    /** Sends raw bytes and reads until the proxy closes the connection. */
    String exchange(String raw) throws IOException {
        try (Socket s = new Socket(InetAddress.getLoopbackAddress(), port())) {
            s.setSoTimeout(10_000);
            s.getOutputStream().write(raw.getBytes(StandardCharsets.ISO_8859_1));
            s.getOutputStream().flush();
            return new String(s.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
        }
    }

    /** One response on an open connection, read by its framing: status and decoded body. */
    static Reply read(InputStream in, String method) throws IOException {
        HttpMessages.Response r = HttpMessages.readResponse(in);
        byte[] body = HttpMessages.body(in, HttpMessages.responseFraming(r, method)).readAllBytes();
        return new Reply(r, new String(body, StandardCharsets.UTF_8));
    }

    record Reply(HttpMessages.Response head, String body) {
        int status() {
            return head.status();
        }

        JsonNode json() throws IOException {
            return JSON.readTree(body);
        }
    }

    /** Sends raw bytes and reads one response. */
    Reply request(String raw) throws IOException {
        try (Socket s = new Socket(InetAddress.getLoopbackAddress(), port())) {
            s.setSoTimeout(10_000);
            s.getOutputStream().write(raw.getBytes(StandardCharsets.ISO_8859_1));
            return read(new BufferedInputStream(s.getInputStream()), raw.substring(0, raw.indexOf(' ')));
        }
    }

    static String text(InputStream in) throws IOException {
        ByteArrayOutputStream b = new ByteArrayOutputStream();
        in.transferTo(b);
        return b.toString(StandardCharsets.UTF_8);
    }

    static NetworkDecision allow(String rule, String... allowedIps) {
        return new NetworkDecision(Verdict.ALLOW, rule, "allowed by " + rule, false, List.of(allowedIps), List.of());
    }

    static NetworkDecision deny(String rule, String reason) {
        return new NetworkDecision(Verdict.DENY, rule, reason, false, List.of(), List.of());
    }

    /** The single audit event; fails if there is not exactly one. */
    AuditEvent onlyEvent() {
        if (audit.size() != 1) throw new AssertionError("expected one audit event, got " + audit);
        return audit.getFirst();
    }

    @Override
    public void close() {
        proxy.close();
    }
}
