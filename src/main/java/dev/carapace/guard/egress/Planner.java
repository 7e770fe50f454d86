package dev.carapace.guard.egress;

import dev.carapace.guard.NetworkRules;
import dev.carapace.guard.NetworkRules.NetworkDecision;
import dev.carapace.guard.egress.EgressProxy.Options;
import dev.carapace.guard.egress.HttpMessages.Header;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.io.IOException;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.Socket;
import java.net.URLDecoder;
import java.net.UnknownHostException;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import javax.net.ssl.SNIHostName;
import javax.net.ssl.SSLParameters;
import javax.net.ssl.SSLSocket;

import static dev.carapace.guard.egress.EgressProxy.closeQuietly;

/**
 * Decides on one request of the proxy before anything leaves: the rules on the target, then the credentials to add,
 * then the name resolved once and every address checked; and connects to one of those checked addresses.
 */
final class Planner {

    /** Logged as the proxy: a rules failure is the proxy's refusal to explain. */
    private static final Logger log = LoggerFactory.getLogger(EgressProxy.class);

    private final NetworkRules rules;
    private final Resolver resolver;
    private final SecretStore secrets;
    private final Options options;
    private final AuditTrail trail;

    Planner(NetworkRules rules, Resolver resolver, SecretStore secrets, Options options, AuditTrail trail) {
        this.rules = rules;
        this.resolver = resolver;
        this.secrets = secrets;
        this.options = options;
        this.trail = trail;
    }

    /** What an allowed request needs: the checked addresses to connect to and the headers to add. */
    record Plan(List<InetAddress> addresses, List<Header> inject,
                List<CredentialScrubber.Injected> credentials) {}

    /** Headers by which frameworks (Rails, Laravel, ASP.NET, Express's method-override...) let a request claim a
     * method other than its own. */
    private static final List<String> METHOD_OVERRIDES = List.of("x-http-method-override", "x-http-method",
            "x-method-override");

    /**
     * The method a request claims through a method-override header or a {@code _method} query parameter, upper
     * case, or null: many servers act on it, so a read-only endpoint must not let {@code GET} with
     * {@code X-HTTP-Method-Override: DELETE} through. It is judged as well as the request's own method.
     */
    static String methodOverride(List<Header> headers, Target target) {
        for (String name : METHOD_OVERRIDES) {
            String v = HttpMessages.header(headers, name);
            if (v != null && !v.isBlank()) return v.strip().toUpperCase(Locale.ROOT);
        }
        if (target.query() == null) return null;
        for (String pair : target.query().split("&")) {
            int eq = pair.indexOf('=');
            String name = eq < 0 ? pair : pair.substring(0, eq);
            if (name.equalsIgnoreCase("_method") && eq >= 0 && eq + 1 < pair.length()) {
                String value = pair.substring(eq + 1);
                try {
                    value = URLDecoder.decode(value, StandardCharsets.UTF_8);
                } catch (IllegalArgumentException malformed) {
                    // judged as written: no server decodes it into another method either
                }
                return value.strip().toUpperCase(Locale.ROOT);
            }
        }
        return null;
    }

    /**
     * Decides on {@code target} and records the decision. Nothing is resolved before the rules allow the name.
     *
     * @throws EgressDeniedException when refused (the refusal is already recorded)
     */
    Plan plan(String agent, String method, Target target) throws EgressDeniedException {
        boolean tunnel = method.equals("CONNECT");
        String host = target.host().name();
        NetworkDecision decision;
        try {
            decision = rules.decide(new NetworkRules.NetworkRequest(agent, host, target.port(),
                    tunnel ? null : method, target.path(), null));
        } catch (RuntimeException e) {
            log.error("network rules failed for {} {}", method, target.audited(), e);
            throw trail.refuse(agent, method, target, 403, "egress_denied", "egress:rules-failed",
                    "the network policy could not decide (" + e.getClass().getSimpleName() + "); refused",
                    "an operator should check the policy and the gateway log");
        }
        if (!decision.allowed()) {
            String what = tunnel ? "a tunnel to " + target.host().authority() + ":" + target.port()
                    : method + " " + target.host().authority() + ":" + target.port() + target.path();
            boolean ask = decision.verdict() == NetworkRules.Verdict.ASK;
            throw trail.refuse(agent, method, target, 403, "egress_denied", decision.rule(),
                    ask ? "needs an operator's approval: " + decision.reason() : decision.reason(),
                    ask ? "an operator must approve " + what
                            : "an operator can allow " + what + " in the agent's network policy");
        }
        if (tunnel && !decision.inject().isEmpty()) {
            throw trail.refuse(agent, method, target, 403, "egress_denied", "egress:tunnel-credentials",
                    "credentials are bound to this endpoint, and a CONNECT tunnel is opaque, so they cannot be added",
                    "send the requests as plain http://" + target.host().authority() + ":" + target.port()
                            + "/... to the proxy; it connects with TLS itself and adds the credentials");
        }
        List<Header> inject = new ArrayList<>();
        List<CredentialScrubber.Injected> credentials = new ArrayList<>();
        for (NetworkRules.Injection i : decision.inject()) {
            String value;
            try {
                value = secrets.value(i.secret());
            } catch (SecretStore.Unavailable e) {
                throw trail.refuse(agent, method, target, 502, "credential_unavailable", "egress:secret",
                        e.getMessage(), "an operator must make the secret available to the gateway");
            }
            String header = i.template().replace("{secret}", value);
            if (!HttpMessages.isToken(i.header()) || header.indexOf('\r') >= 0 || header.indexOf('\n') >= 0) {
                throw trail.refuse(agent, method, target, 502, "credential_unavailable", "egress:secret",
                        "secret '" + i.secret() + "' or header '" + i.header() + "' cannot form a header line",
                        "an operator must fix the secret or the injection");
            }
            inject.add(new Header(i.header(), header));
            credentials.add(new CredentialScrubber.Injected(i.secret(), value, i.header(), header));
        }
        List<Addresses.Cidr> allowed = new ArrayList<>();
        for (String cidr : decision.allowedIps()) {
            try {
                allowed.add(Addresses.Cidr.parse(cidr));
            } catch (IllegalArgumentException e) {
                throw trail.refuse(agent, method, target, 403, "egress_denied", decision.rule(),
                        "the policy's allowed_ips has an invalid entry: " + e.getMessage(),
                        "an operator must fix allowed_ips");
            }
        }
        List<InetAddress> addresses;
        if (target.host().literal() != null) {
            addresses = List.of(target.host().literal());
        } else {
            try {
                addresses = List.copyOf(resolver.resolve(host));
                if (addresses.isEmpty()) throw new UnknownHostException(host);
            } catch (UnknownHostException e) {
                throw trail.refuse(agent, method, target, 502, "unknown_host", "egress:dns",
                        "the name " + host + " does not resolve", "check the host name");
            }
        }
        for (InetAddress a : addresses) {
            String kind = Addresses.blockedKind(a);
            if (kind != null && !Addresses.within(a, allowed)) {
                String shown = a.getHostAddress();
                throw trail.refuse(agent, method, target, 403, "egress_denied", "egress:blocked-address",
                        (target.host().literal() != null ? host + " is" : host + " resolves to " + shown + ",")
                                + " a " + kind + " address, which agents may not reach",
                        "if this internal address is intended, an operator can add " + shown
                                + (shown.indexOf(':') >= 0 ? "/128" : "/32") + " to the endpoint's allowed_ips");
            }
        }
        boolean auditOnly = decision.verdict() != NetworkRules.Verdict.ALLOW;
        trail.record(agent, method, target, auditOnly ? "audit" : "allow", decision.rule(), decision.reason());
        return new Plan(addresses, List.copyOf(inject), List.copyOf(credentials));
    }

    /** Connects to the first reachable checked address, with TLS (verified for the host name) if the target says. */
    Socket connect(Plan plan, Target target) throws IOException {
        IOException last = null;
        for (InetAddress address : plan.addresses()) {
            Socket socket = new Socket();
            try {
                socket.setTcpNoDelay(true);
                socket.connect(new InetSocketAddress(address, target.port()), (int) options.connectTimeout().toMillis());
                socket.setSoTimeout((int) Math.min(Integer.MAX_VALUE, options.idleTimeout().toMillis()));
                if (!target.tls()) return socket;
                SSLSocket tls = (SSLSocket) options.tls().getSocketFactory()
                        .createSocket(socket, target.host().name(), target.port(), true);
                SSLParameters parameters = tls.getSSLParameters();
                parameters.setEndpointIdentificationAlgorithm("HTTPS");
                if (target.host().literal() == null) parameters.setServerNames(List.of(new SNIHostName(target.host().name())));
                tls.setSSLParameters(parameters);
                tls.startHandshake();
                return tls;
            } catch (IOException e) {
                closeQuietly(socket);
                last = e;
            }
        }
        throw last;
    }
}
