package dev.carapace.server.api;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.carapace.config.CarapaceConfig;
import dev.carapace.gateway.Call;
import dev.carapace.gateway.Gateway;
import dev.carapace.identity.Authenticator;
import dev.carapace.identity.Principal;
import dev.carapace.model.ApiException;
import dev.carapace.model.ChatRequest;
import dev.carapace.model.ChatResponse;
import dev.carapace.model.Provider;
import dev.carapace.model.StreamEvent;
import dev.carapace.model.WireApi;
import dev.carapace.model.WireFormat;
import dev.carapace.model.responses.ResponsesContext;
import dev.carapace.model.responses.ResponsesFormat;
import dev.carapace.server.adapter.StoreWatch;
import dev.carapace.server.http.Exchange;
import dev.carapace.server.http.Routes;
import dev.carapace.store.ResponseRecords;
import dev.carapace.store.ResponseRecords.StoredResponse;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.io.IOException;
import java.time.Clock;
import java.time.Instant;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Set;
import java.util.function.Consumer;

import static dev.carapace.text.Excerpt.clip;

/**
 * The OpenAI Responses API: {@code POST /v1/responses}, streamed or not, through the same gateway pipeline as every
 * model call, and the responses it stored: {@code GET} and {@code DELETE /v1/responses/{id}} and
 * {@code GET /v1/responses/{id}/input_items}.
 *
 * <p>Carapace keeps the chain itself. A response served with {@code store: true} (the API's default) is kept under
 * the API key that asked for it, for {@code server.responses.retention}; {@code previous_response_id} puts the stored
 * items of the chain before the new input, so every upstream kind continues a conversation, and no upstream keeps
 * anything. Another key's response id is not found, exactly like an id that never existed.
 */
public final class ResponsesApi {

    private static final Logger log = LoggerFactory.getLogger(ResponsesApi.class);
    private static final ObjectMapper JSON = new ObjectMapper();
    /** A client's list of hosted tools it can do without (dropped from a translated request instead of refused). */
    static final String OPTIONAL_TOOLS = "x-carapace-optional-tools";
    private static final int MAX_CHAIN = 1000;
    /** Names what a translated request left out (reasoning items, optional hosted tools), so a client can tell. */

    private final HttpApi api;
    private final Gateway gateway;
    private final Authenticator auth;
    private final StoreWatch storeWatch;
    private final ResponsesFormat format;
    private final ResponseRecords records;
    private final CarapaceConfig.Responses settings;
    private final Clock clock;

    public ResponsesApi(HttpApi api, Gateway gateway, Authenticator auth, StoreWatch storeWatch, ResponsesFormat format,
                 ResponseRecords records, CarapaceConfig.Responses settings, Clock clock) {
        this.api = api;
        this.gateway = gateway;
        this.auth = auth;
        this.storeWatch = storeWatch;
        this.format = format;
        this.records = records;
        this.settings = settings;
        this.clock = clock;
    }

    /** Registered before {@link HttpApi#routes}, whose catch-all answers everything else. */
    public void routes(Routes r) {
        r.post("/v1/responses", x -> api.handleCall("responses", x, named -> create(x, named)))
         .get("/v1/responses/{id}", x -> api.handleApi("responses", x, () -> get(x)))
         .delete("/v1/responses/{id}", x -> api.handleApi("responses", x, () -> delete(x)))
         .get("/v1/responses/{id}/input_items", x -> api.handleApi("responses", x, () -> inputItems(x)));
    }

    /** Deletes the stored responses past their retention; run periodically. */
    public void expire() {
        int n = records.deleteExpired(clock.instant());
        if (n > 0) log.info("{} stored response(s) past their retention deleted", n);
    }

    private void create(Exchange x, Consumer<Call> named) throws IOException {
        String unsound = storeWatch.problem();
        if (unsound != null) throw StoreWatch.unavailable(unsound);
        Principal principal = authenticate(x);
        byte[] body = api.body(x);
        Set<String> optional = optionalTools(x);
        ResponsesFormat.Parsed parsed = format.parse(body, optional);
        String previous = parsed.context().previousResponseId();
        if (previous != null) {
            if (!settings.store()) {
                throw ApiException.invalid("previous_response_id", "previous_response_id: this gateway keeps no responses"
                        + " (responses.store is false in its config); send the whole conversation as input instead");
            }
            parsed = format.withHistory(parsed, history(principal, previous, body.length), optional);
        }
        ResponsesContext context = kept(parsed.context());
        boolean keep = context.store();
        ChatRequest request = parsed.chat();
        Call call = new Call(x.responseHeader("x-request-id"), principal, WireApi.RESPONSES, request,
                affinity(x, request, context));
        named.accept(call);
        if (!request.stream()) {
            ChatResponse answer = gateway.complete(call);
            byte[] rendered = format.render(answer, context);
            if (keep) save(principal, context, JSON.readTree(rendered), call);
            noteDropped(call, request);
            HttpApi.callHeaders(x, call);
            x.header("content-type", "application/json");
            x.send(rendered);
            return;
        }
        // The encoder is made before the status and headers are set, so the dropped header still goes out with them.
        HttpApi.SseResponse sse = new HttpApi.SseResponse(() -> HttpApi.startSse(x, call), () -> {
            noteDropped(call, request);
            String model = call.model().id();
            WireFormat.StreamEncoder encoder = call.relayTo(call.deployment().provider().api()) != Provider.Relay.NONE
                    ? format.relayEncoder(call.request(), model) : format.streamEncoder(context, model, call::usage);
            return keep ? new Storing(encoder, principal, context, call) : encoder;
        });
        try {
            gateway.stream(call, sse);
        } catch (ApiException e) {
            if (!sse.started()) throw e;
            sse.fail(e);
        }
    }

    /**
     * Stores the response as its last event shows it, before that event leaves: a client that chains its next request
     * on this response the moment it has it finds it stored.
     */
    private final class Storing implements WireFormat.StreamEncoder {
        private final WireFormat.StreamEncoder encoder;
        private final Principal principal;
        private final ResponsesContext context;
        private final Call call;

        Storing(WireFormat.StreamEncoder encoder, Principal principal, ResponsesContext context, Call call) {
            this.encoder = encoder;
            this.principal = principal;
            this.context = context;
            this.call = call;
        }

        @Override
        public byte[] encode(StreamEvent event) {
            byte[] bytes = encoder.encode(event);
            // A relayed stream's last event is an upstream frame, not the end: store when it has gone by.
            if (event instanceof StreamEvent.Frame) storeFinal();
            return bytes;
        }

        @Override
        public byte[] error(ApiException error) { return encoder.error(error); }

        @Override
        public byte[] end() {
            byte[] bytes = encoder.end();
            storeFinal();
            return bytes;
        }

        private boolean stored;

        private void storeFinal() {
            if (stored || !(encoder instanceof ResponsesFormat.Finals f) || f.finalResponse() == null) return;
            stored = true;
            save(principal, context, f.finalResponse(), call);
        }
    }

    /**
     * Adds what the translation left out of the Responses request (reasoning and hosted tools' items) to what the
     * call's own translation named ({@link Call.Adaptation#DROPPED}), so the client reads one header.
     *
     * @param asked the client's request as parsed: a filter's rewrite (a redaction) no longer names its items
     */
    private static void noteDropped(Call call, ChatRequest asked) {
        if (call.relayTo(call.deployment().provider().api()) != Provider.Relay.NONE) return;
        Set<String> dropped = new java.util.LinkedHashSet<>(ResponsesFormat.untranslated(asked));
        if (dropped.isEmpty()) return;
        String earlier = call.adaptations().get(Call.Adaptation.DROPPED);
        if (earlier != null) dropped.addAll(List.of(earlier.split(",")));
        call.adapted(Call.Adaptation.DROPPED, String.join(",", dropped));
    }

    /** The context as served: a gateway that keeps no responses says so in each one ({@code store: false}). */
    private ResponsesContext kept(ResponsesContext c) {
        if (settings.store() || !c.store()) return c;
        return new ResponsesContext(c.namespaced(), c.customTools(), false, c.previousResponseId(), c.input(), c.echo());
    }

    /** Keeps a served response for its key; a store failure costs the client nothing but the chain. */
    private void save(Principal p, ResponsesContext context, JsonNode response, Call call) {
        String id = response.path("id").asText(null);
        if (id == null || "failed".equals(response.path("status").asText())) return;
        Instant now = clock.instant();
        try {
            boolean added = records.insert(new StoredResponse(id, p.keyPrefix(), context.previousResponseId(),
                    call.model() == null ? response.path("model").asText("") : call.model().id(), now,
                    now.plus(settings.retention()), context.input().toString(), response.toString()));
            if (!added) log.warn("response {} was already stored; the upstream reused an id", id);
        } catch (RuntimeException e) {
            log.error("could not store response {}", id, e);
        }
    }

    /** The items of a chain, oldest first: each stored response's input, then its output. */
    /**
     * The stored items a chain continues, oldest first. The conversation they make with the new request is held to the
     * same size as a body a client may send ({@code server.max_body_bytes}): a chain of large requests would otherwise
     * grow past any limit, in memory, one link at a time.
     */
    private ArrayNode history(Principal p, String lastId, long requestBytes) {
        List<StoredResponse> chain = new ArrayList<>();
        long total = requestBytes;
        Set<String> seen = new HashSet<>();
        Instant now = clock.instant();
        for (String id = lastId; id != null; ) {
            if (!seen.add(id) || chain.size() >= MAX_CHAIN) {
                throw ApiException.invalid("previous_response_id", "previous_response_id: the chain of responses is"
                        + " longer than " + MAX_CHAIN + "; start a new one with the whole conversation as input");
            }
            String wanted = id;
            StoredResponse r = records.get(p.keyPrefix(), id, now).orElseThrow(() -> notFound(wanted, "previous_response_id"));
            chain.add(r);
            total += r.inputItems().length() + r.response().length();
            if (total > api.maxBodyBytes()) {
                throw new ApiException(ApiException.Kind.TOO_LARGE, "previous_response_id: the conversation this request"
                        + " continues is over " + api.maxBodyBytes() + " bytes with it (server.max_body_bytes, the most a"
                        + " request may carry); start a new response with a shorter conversation as input",
                        "previous_response_id", "conversation_too_large", null, false);
            }
            id = r.previousId();
        }
        ArrayNode items = JSON.createArrayNode();
        for (int i = chain.size() - 1; i >= 0; i--) {
            StoredResponse r = chain.get(i);
            items.addAll((ArrayNode) ResponsesFormat.readStored(r.inputItems()));
            JsonNode output = ResponsesFormat.readStored(r.response()).path("output");
            if (output.isArray()) items.addAll((ArrayNode) output);
        }
        return items;
    }

    private void get(Exchange x) {
        Principal p = authenticate(x);
        StoredResponse r = stored(p, x.pathParam("id"));
        HttpApi.sendJson(x, 200, ResponsesFormat.readStored(r.response()));
    }

    private void delete(Exchange x) {
        Principal p = authenticate(x);
        String id = x.pathParam("id");
        if (!records.delete(p.keyPrefix(), id)) throw notFound(id, null);
        HttpApi.sendJson(x, 200, JSON.createObjectNode().put("id", id).put("object", "response").put("deleted", true));
    }

    /** The input items of a stored response, newest first unless {@code order=asc}, {@code limit} at a time (1 to 100). */
    private void inputItems(Exchange x) {
        Principal p = authenticate(x);
        for (String q : x.queryNames()) {
            if (!INPUT_ITEMS_PARAMS.contains(q)) {
                throw ApiException.invalid(q, q + ": unknown parameter (expected after, include, limit, order)");
            }
        }
        StoredResponse r = stored(p, x.pathParam("id"));
        String order = x.query("order");
        if (order != null && !order.equals("asc") && !order.equals("desc")) {
            throw ApiException.invalid("order", "order: expected asc or desc; got '" + clip(order, 60) + "'");
        }
        int limit = 20;
        String l = x.query("limit");
        if (l != null) {
            try {
                limit = Integer.parseInt(l);
            } catch (NumberFormatException e) {
                limit = -1;
            }
            if (limit < 1 || limit > 100) throw ApiException.invalid("limit", "limit: expected a whole number from 1 to 100; got '" + clip(l, 60) + "'");
        }
        List<JsonNode> items = new ArrayList<>();
        for (JsonNode item : ResponsesFormat.readStored(r.inputItems())) items.add(listed(item, r.id(), items.size()));
        if (!"asc".equals(order)) java.util.Collections.reverse(items);
        String after = x.query("after");
        if (after != null) {
            int at = 0;
            while (at < items.size() && !items.get(at).path("id").asText().equals(after)) at++;
            if (at == items.size()) {
                throw ApiException.invalid("after", "after: no input item '" + clip(after, 60) + "' in response " + r.id()
                        + " (expected an id from a previous page's data)");
            }
            items = items.subList(at + 1, items.size());
        }
        ObjectNode body = JSON.createObjectNode().put("object", "list");
        ArrayNode data = body.putArray("data");
        items.stream().limit(limit).forEach(data::add);
        body.put("first_id", data.isEmpty() ? null : data.get(0).path("id").asText(null));
        body.put("last_id", data.isEmpty() ? null : data.get(data.size() - 1).path("id").asText(null));
        body.put("has_more", items.size() > limit);
        HttpApi.sendJson(x, 200, body);
    }

    private static final java.util.Set<String> INPUT_ITEMS_PARAMS = java.util.Set.of("after", "include", "include[]",
            "limit", "order");

    /**
     * An input item as the API lists it: with the id and type the Responses API gives every item (a client's easy
     * input {@code {"role", "content"}} has neither), so that {@code after} can page past it. The id is the
     * item's own, else derived from the response's id and its place, the same on every call.
     */
    private static JsonNode listed(JsonNode item, String responseId, int index) {
        if (!(item instanceof ObjectNode o) || (o.hasNonNull("id") && o.hasNonNull("type"))) return item;
        ObjectNode copy = o.deepCopy();
        if (!o.hasNonNull("id")) copy.put("id", "msg_" + responseId.replaceFirst("^resp_", "") + "_" + index);
        if (!o.hasNonNull("type") && o.has("role")) copy.put("type", "message");
        return copy;
    }

    private StoredResponse stored(Principal p, String id) {
        return records.get(p.keyPrefix(), id, clock.instant()).orElseThrow(() -> notFound(id, null));
    }

    /** Worded the same whether the id never existed, expired, or is another key's: nothing leaks. */
    private static ApiException notFound(String id, String param) {
        return new ApiException(ApiException.Kind.NOT_FOUND, "No response with id '" + clip(id, 60) + "' is stored for this"
                + " API key (responses are kept per key, for a limited time).", param,
                param == null ? "response_not_found" : "previous_response_not_found", null, false);
    }

    /** A session the client named (Codex sends session-id), its prompt cache key, or its end user. */
    private static String affinity(Exchange x, ChatRequest request, ResponsesContext context) {
        String codexSession = x.header("session-id");
        if (codexSession != null && !codexSession.isBlank()) return HttpApi.affinity(x, codexSession);
        JsonNode key = context.echo().get("prompt_cache_key");
        return HttpApi.affinity(x, key != null && key.isTextual() ? key.textValue() : request.user());
    }

    private static Set<String> optionalTools(Exchange x) {
        List<String> values = x.headerValues(OPTIONAL_TOOLS);
        if (values.isEmpty()) return ResponsesFormat.DEFAULT_OPTIONAL_TOOLS;
        Set<String> out = new HashSet<>(ResponsesFormat.DEFAULT_OPTIONAL_TOOLS);
        for (String v : values) {
            for (String t : v.split(",")) {
                String type = t.strip();
                if (type.isEmpty()) continue;
                if (type.length() > 64 || !type.chars().allMatch(c -> c == '_' || c == '-' || (c < 0x80 && Character.isLetterOrDigit(c)))) {
                    throw ApiException.invalid(null, "Header " + OPTIONAL_TOOLS + " must list hosted tool types such as"
                            + " web_search,file_search; got '" + clip(type, 60) + "'");
                }
                out.add(type);
            }
        }
        return out;
    }

    private Principal authenticate(Exchange x) {
        return auth.authenticate(Credentials.apiKey(x::headerLines));
    }

}
