package dev.carapace.channel;

import dev.carapace.agent.AgentRuntime;
import dev.carapace.agent.AgentSpec;
import dev.carapace.agent.Agents;
import dev.carapace.agent.RunInfo;
import dev.carapace.agent.RunOptions;
import dev.carapace.agent.RunStatus;
import dev.carapace.agent.TranscriptEntry;
import dev.carapace.identity.Principal;
import dev.carapace.model.ApiException;
import dev.carapace.model.Part;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Base64;
import java.util.HexFormat;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.NoSuchElementException;
import java.util.Optional;
import java.util.UUID;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;

/**
 * The channels' engine: takes every message a channel received and carries it to an agent and its answer back.
 *
 * <h2>The way in</h2>
 * A channel hands a message to the {@link Inbox}; it is stored (once per channel and message id, files included)
 * before the channel acknowledges it, so a message a sender saw accepted is never lost. Then, in order, each step
 * able to stop it:
 * <ol>
 *   <li><b>automated</b>: an auto-reply, a bounce, a bot, a loop is recorded and never answered;</li>
 *   <li><b>identity</b> ({@link Identities}): an unknown sender gets a pairing code or a refusal, at most once a day
 *       (a forged sender must not turn a channel into a way to mail strangers), a code only where the sender alone
 *       reads it, and the model never sees it;</li>
 *   <li><b>route and guard</b>: the channel's {@link AgentRoute} for the address names the agent and its
 *       {@link Access}: allowed, denied (the sender is told), or waiting for an operator;</li>
 *   <li><b>privacy</b> ({@link ChannelPrivacy}): blocked data refuses the message, naming the kind and line;
 *       redacted data is replaced for good;</li>
 *   <li><b>agent</b>: voice notes are transcribed ({@link Voice}), other files are saved in the agent's workspace
 *       ({@link WorkspaceFiles}) and named in the message, and the message starts a run in the session of its
 *       conversation, charged to the sender and recorded with them in the transcript.</li>
 * </ol>
 *
 * <h2>The way out</h2>
 * When the run ends its last answer goes back through the channel, in the thread; to a recipient no binding names,
 * or into a conversation others read too ({@link Channel#privateTo}), the privacy router screens it first. Every
 * send is audited; a send that fails on something passing is retried with back-off. Messages of one conversation
 * are handled one after another in the order received.
 *
 * <h2>Restarts</h2>
 * Each step is recorded on the message before the next is taken ({@link MessageState}). On start, messages not
 * finished are taken up again: a stored one is handled, one whose run was interrupted by the restart resumes that
 * run and answers when it ends. A reply is sent at least once: a crash between sending and recording it sends it
 * again, with the same idempotency key for channels that can use one.
 */
public final class ChannelHub implements AutoCloseable {

    private static final Logger log = LoggerFactory.getLogger(ChannelHub.class);

    /** A sender with no binding gets at most one pairing code or refusal in this time. */
    static final Duration REPLY_TO_UNKNOWN_EVERY = Duration.ofHours(24);
    /** A channel answers at most this many unknown senders an hour (per gateway): past it, they are recorded only. */
    public static final int REPLIES_TO_UNKNOWN_PER_HOUR = 20;
    static final int MAX_TEXT_CHARS = 200_000;
    static final int MAX_ATTACHMENTS = 20;
    private static final int SEND_ATTEMPTS = 5;
    static final Duration ABANDONED_AFTER = Duration.ofMinutes(2);
    static final int MAX_IMAGES = 4;
    static final int MAX_IMAGE_BYTES = 4 << 20;
    private static final java.util.Set<String> VISION_TYPES = java.util.Set.of("image/png", "image/jpeg", "image/gif",
            "image/webp");

    private final Map<String, ChannelSpec> specs;
    private final Map<String, Channel> channels = new ConcurrentHashMap<>();
    private final ChannelStore store;
    private final Identities identities;
    private final Agents agents;
    private final AgentRuntime runtime;
    private final ChannelPrivacy privacy;
    private final ChannelAudit audit;
    private final ChannelEvents events;
    private final Voice voice;
    private final Clock clock;
    private final Duration firstRetry;
    /** Messages received before this were left by an earlier process of this gateway (or another one). */
    private final Instant startedAt;
    private final ExecutorService workers = Executors.newThreadPerTaskExecutor(
            Thread.ofVirtual().name("channel-message-", 0).factory());
    /** The last task of each conversation: the next one runs after it. */
    private final Map<String, CompletableFuture<Void>> conversations = new ConcurrentHashMap<>();
    /** Each channel's replies to unknown senders in the last hour (this gateway's), oldest first. */
    private final Map<String, java.util.Deque<Instant>> repliesToUnknown = new ConcurrentHashMap<>();
    /** Striped by sender: whether an unknown sender is answered is decided one message at a time. */
    private final Object[] unknownSenderLocks = java.util.stream.IntStream.range(0, 64).mapToObj(i -> new Object()).toArray();
    private volatile boolean closed;

    /**
     * @param voice      transcribes voice notes and speaks answers; null: voice notes are named as files only
     * @param firstRetry the wait before the first retry of a failed send; each next waits twice as long
     */
    public ChannelHub(List<ChannelSpec> specs, ChannelStore store, Identities identities, Agents agents, AgentRuntime runtime, ChannelPrivacy privacy, ChannelAudit audit,
                      ChannelEvents events, Voice voice, Clock clock, Duration firstRetry) {
        Map<String, ChannelSpec> m = new LinkedHashMap<>();
        for (ChannelSpec s : specs) m.put(s.id(), s);
        this.specs = Map.copyOf(m);
        this.store = store;
        this.identities = identities;
        this.agents = agents;
        this.runtime = runtime;
        this.privacy = privacy;
        this.audit = audit;
        this.events = events;
        this.voice = voice;
        this.clock = clock;
        this.firstRetry = firstRetry;
        this.startedAt = clock.instant();
    }

    // ---- set-up -------------------------------------------------------------------------------------------------

    /** Adds a built channel (one per spec); {@link #start} starts it. */
    public void add(Channel channel) {
        if (!specs.containsKey(channel.id())) throw new IllegalArgumentException("no channel spec '" + channel.id() + "'");
        channels.put(channel.id(), channel);
    }

    /**
     * Takes up messages a previous process left unfinished, then starts every channel receiving. Where gateways share
     * a PostgreSQL store, a message is handled by the gateway that received it; one untouched for
     * {@link #ABANDONED_AFTER} is taken to be left by a gateway that stopped.
     */
    public void start() {
        Instant abandoned = clock.instant().minus(ABANDONED_AFTER);
        for (StoredMessage m : store.unfinished()) {
            if (m.updatedAt().isAfter(abandoned) && !m.message().receivedAt().isBefore(startedAt)) continue;
            switch (m.state()) {
                case RECEIVED -> enqueue(m.message(), () -> handle(m.id()));
                case STARTED -> enqueue(m.message(), () -> {
                    if (m.runId() == null) startApproved(m);   // approved, its run not yet started
                    else resumeAndAnswer(m);
                });
                default -> { }   // awaiting an operator
            }
        }
        for (Channel c : channels.values()) c.start(inbox());
    }

    public Inbox inbox() { return this::receive; }

    public List<ChannelSpec> specs() { return List.copyOf(specs.values()); }

    public Optional<Channel> channel(String id) { return Optional.ofNullable(channels.get(id)); }

    public Identities identities() { return identities; }

    public ChannelEvents events() { return events; }

    public ChannelStore store() { return store; }

    // ---- operators ----------------------------------------------------------------------------------------------

    /**
     * Confirms a pairing (see {@link Identities#pair}) and tells the event streams.
     *
     * @throws IllegalArgumentException see {@link Identities#pair}
     */
    public IdentityBinding pair(String code, String team, String user, String confirmer) {
        Pairing p = identities.pair(code, team, user, confirmer);
        ChannelSpec spec = specs.get(p.channel());
        if (spec != null) publish("paired", spec, null, p.sender(), null, null, -1);
        return identities.binding(p.sender()).orElseThrow();
    }

    /**
     * A message an agent sends on its own (the {@code send_message} tool): only on a channel whose routes name the
     * agent, to a recipient the channel's kind names ({@code alice@corp.example}, a Slack user id...). A recipient no
     * identity binding names is external: the privacy router screens the text and the subject first (blocked data
     * stops it; data the policy redacts or keeps on private models is replaced). Audited either way.
     *
     * @return what was done, for the model
     * @throws IllegalArgumentException what was wrong with the request, for the model
     * @throws ChannelException the channel could not send it
     */
    public String sendAs(String agentId, String channelId, String to, String subject, String text)
            throws ChannelException, InterruptedException {
        ChannelSpec spec = specs.get(channelId);
        if (spec == null || spec.routes().stream().noneMatch(r -> r.agent().equals(agentId))) {
            List<String> mine = specs.values().stream()
                    .filter(x -> x.routes().stream().anyMatch(r -> r.agent().equals(agentId))).map(ChannelSpec::id).toList();
            throw new IllegalArgumentException("channel: you can send on the channels that route to you ("
                    + (mine.isEmpty() ? "none" : String.join(", ", mine)) + "); got '"
                    + dev.carapace.text.Excerpt.clip(channelId, 40) + "'");
        }
        Identities.checkKey(spec.kind() + ":" + to);
        if (text == null || text.isBlank()) throw new IllegalArgumentException("text: must not be empty");
        Channel channel = channels.get(channelId);
        if (channel == null) throw new ChannelException("channel '" + channelId + "' is not running", true);
        Sender recipient = new Sender(spec.kind(), spec.kind().equals("email") ? dev.carapace.text.AsciiCase.lower(to) : to, null);
        String body = text;
        String note = "";
        if (identities.binding(recipient.key()).isEmpty()) {
            String team = agents.get(agentId).owner().team();
            // the subject is read by the recipient as much as the text: both are screened
            ChannelPrivacy.Screened s = privacy.outbound(team, agentId, text);
            ChannelPrivacy.Screened subj = subject == null ? null : privacy.outbound(team, agentId, subject);
            String refusal = s.refusal() != null ? s.refusal() : subj != null ? subj.refusal() : null;
            if (refusal != null) {
                audit.record(channelId, "send", recipient.key(), agentId, "refused", "privacy: " + refusal);
                throw new IllegalArgumentException("text: not sent to " + recipient.key() + ", who is outside the "
                        + "organisation: " + refusal);
            }
            java.util.Set<String> kinds = new java.util.LinkedHashSet<>();
            if (!s.text().equals(text)) kinds.addAll(s.kinds());
            if (subj != null && !subj.text().equals(subject)) kinds.addAll(subj.kinds());
            if (!kinds.isEmpty()) note = " (to a recipient outside the organisation: the privacy policy redacted "
                    + String.join(", ", kinds) + ")";
            body = s.text();
            if (subj != null) subject = subj.text();
        }
        Map<String, String> reply = subject == null ? Map.of() : Map.of("subject", subject);
        channel.send(new Outbound(channelId, recipient, "out-" + UUID.randomUUID(), body, List.of(), reply,
                "send-" + UUID.randomUUID()));
        audit.record(channelId, "send", recipient.key(), agentId, note.isEmpty() ? "sent" : "redacted",
                "sent by agent " + agentId + note);
        return "sent to " + recipient.key() + " on " + channelId + note;
    }

    /** The newest messages of one channel (null: all), newest first, without their files. */
    public List<StoredMessage> messages(String channel, int limit) { return store.recent(channel, limit); }

    // ---- the way in ---------------------------------------------------------------------------------------------

    private boolean receive(Inbound in) throws ChannelException {
        if (closed) throw new ChannelException("the gateway is shutting down", true);
        ChannelSpec spec = specs.get(in.channel());
        if (spec == null) throw new ChannelException("no channel '" + in.channel() + "' is configured", false);
        Inbound taken = bounded(spec, in);
        String id = "msg_" + UUID.randomUUID().toString().replace("-", "");
        boolean fresh;
        try {
            fresh = store.insert(id, taken, clock.instant());
        } catch (RuntimeException e) {
            throw new ChannelException("the message could not be stored: " + e.getMessage(), true, e);
        }
        if (!fresh) {
            log.info("channel {}: message {} was received before; not handled again", spec.id(), clipId(in.messageId()));
            return false;
        }
        publish("message_received", spec, id, in.sender().key(), null, null, -1);
        enqueue(taken, () -> handle(id));
        return true;
    }

    /**
     * The message within the channel's limits: text cut at {@link #MAX_TEXT_CHARS}, files over the size, of a type
     * not taken, or past {@link #MAX_ATTACHMENTS} dropped; the text says what was dropped and why, so the agent and
     * the sender's answer can tell.
     */
    static Inbound bounded(ChannelSpec spec, Inbound in) {
        StringBuilder text = new StringBuilder(in.text().length() > MAX_TEXT_CHARS
                ? in.text().substring(0, MAX_TEXT_CHARS) + "\n[the message was cut at " + MAX_TEXT_CHARS + " characters]"
                : in.text());
        List<Attachment> kept = new ArrayList<>();
        for (Attachment a : in.attachments()) {
            String name = dev.carapace.text.Excerpt.clip(WorkspaceFiles.safeName(a.name(), kept.size() + 1, a.mediaType()), 80);
            if (kept.size() >= MAX_ATTACHMENTS) {
                text.append("\n[file ").append(name).append(" dropped: at most ").append(MAX_ATTACHMENTS).append(" files a message]");
            } else if (a.data().length > spec.maxAttachmentBytes()) {
                text.append("\n[file ").append(name).append(" dropped: ").append(a.data().length)
                        .append(" bytes; at most ").append(spec.maxAttachmentBytes()).append(" are taken]");
            } else if (!spec.takes(a.mediaType())) {
                text.append("\n[file ").append(name).append(" dropped: type ")
                        .append(dev.carapace.text.Excerpt.clip(a.mediaType(), 60)).append(" is not taken here (taken: ")
                        .append(String.join(", ", spec.attachmentTypes())).append(")]");
            } else {
                kept.add(a);
            }
        }
        if (kept.size() == in.attachments().size() && text.length() == in.text().length()) return in;
        return new Inbound(in.channel(), in.messageId(), in.sender(), in.address(), in.conversation(), text.toString(),
                kept, in.reply(), in.automated(), in.receivedAt());
    }

    /** Runs {@code task} after the conversation's earlier ones. */
    private void enqueue(Inbound in, Runnable task) {
        String key = in.channel() + "\u0000" + in.conversation();
        CompletableFuture<Void>[] mine = new CompletableFuture[1];
        conversations.compute(key, (k, tail) -> {
            CompletableFuture<Void> before = tail == null ? CompletableFuture.completedFuture(null) : tail;
            mine[0] = before.handle((v, e) -> null).thenRunAsync(guarded(task), workers);
            return mine[0];
        });
        mine[0].whenComplete((v, e) -> conversations.remove(key, mine[0]));
    }

    private static Runnable guarded(Runnable task) {
        return () -> {
            try {
                task.run();
            } catch (RuntimeException e) {
                log.warn("a channel message could not be handled", e);
            }
        };
    }

    /** The steps of the way in, for a stored message. */
    void handle(String id) {
        StoredMessage m = store.message(id).orElse(null);
        if (m == null || m.state() != MessageState.RECEIVED) return;
        Inbound in = m.message();
        ChannelSpec spec = specs.get(in.channel());
        if (spec == null) {
            finish(m, null, MessageState.FAILED, "channel '" + in.channel() + "' is no longer configured");
            return;
        }
        if (in.automated()) {
            finish(m, null, MessageState.IGNORED, "not from a person (an auto-reply, a bounce, a bot or a loop)");
            return;
        }
        if (in.text().isBlank() && in.attachments().isEmpty()) {
            finish(m, null, MessageState.IGNORED, "empty");
            return;
        }
        Optional<Principal> who = identities.principal(in.sender());
        if (who.isEmpty()) {
            unknownSender(spec, m);
            return;
        }
        AgentRoute route = spec.route(in.address());
        if (route == null || agents.find(route.agent()).isEmpty()) {
            String why = route == null ? "no agent answers '" + dev.carapace.text.Excerpt.clip(in.address(), 80) + "' on this channel"
                    : "agent '" + route.agent() + "' does not exist";
            refuse(spec, m, null, why, "Sorry, no assistant answers messages sent here.");
            return;
        }
        if (notUsable(spec, m, who.get(), route.agent())) return;
        switch (route.access()) {
            case DENY -> refuse(spec, m, route.agent(), "the channel is denied to agent '" + route.agent() + "'",
                    "Sorry, this assistant does not take messages on this channel.");
            case ASK -> {
                store.update(m.id(), MessageState.AWAITING_APPROVAL, route.agent(), null,
                        "waiting for an operator: POST /api/channels/messages/" + m.id() + "/approve (or /deny)", clock.instant());
                publish("message_awaiting_approval", spec, m.id(), in.sender().key(), route.agent(), null, -1);
            }
            case ALLOW -> startRun(spec, m, who.get(), route.agent());
        }
    }

    /**
     * An operator's decision on a message waiting for approval.
     *
     * @throws NoSuchElementException  unknown message
     * @throws IllegalArgumentException a message not waiting
     */
    public void decide(String messageId, boolean approve, String operator) {
        StoredMessage m = store.message(messageId)
                .orElseThrow(() -> new NoSuchElementException("No message '" + messageId + "'."));
        // One decision per message, however many operators click at once: the store's state is the arbiter.
        String detail = (approve ? "approved by " : "refused by ") + operator;
        if (!store.transition(messageId, MessageState.AWAITING_APPROVAL,
                approve ? MessageState.STARTED : MessageState.REFUSED, detail, clock.instant())) {
            throw new IllegalArgumentException("message: '" + messageId + "' is not waiting for approval (it is "
                    + store.message(messageId).map(x -> x.state().label()).orElse("gone") + ")");
        }
        audit.record(m.message().channel(), approve ? "approve" : "deny", operator, m.agent(),
                approve ? "allowed" : "refused", "message " + messageId + " from " + m.message().sender().key());
        ChannelSpec spec = specs.get(m.message().channel());
        if (!approve) {
            sendQuietly(spec, m, "Sorry, this message was not passed on.", "refuse");
            publish("message_refused", spec, m.id(), m.message().sender().key(), m.agent(), detail, -1);
            return;
        }
        enqueue(m.message(), () -> startApproved(m));
    }

    /** An approved message (state started, no run yet): its run starts, unless its sender lost their binding. */
    private void startApproved(StoredMessage m) {
        ChannelSpec spec = specs.get(m.message().channel());
        Principal who = identities.principal(m.message().sender()).orElse(null);
        if (spec == null || who == null) {
            finish(m, m.agent(), MessageState.REFUSED, "its channel or its sender's binding is gone");
            return;
        }
        if (notUsable(spec, m, who, m.agent())) return;
        startRun(spec, m, who, m.agent());
    }

    /**
     * Refuses the message when its sender may not use the agent its route names: a bound sender is a member, held to
     * the rule the HTTP API and sub-agents apply ({@link AgentSpec#usableBy}: the agents of their own team or their
     * own), so a channel's route is no way around an agent that is another team's. Checked before an operator is
     * asked, and again when an approved message starts (its sender's binding may have changed meanwhile).
     *
     * @return true when refused
     */
    private boolean notUsable(ChannelSpec spec, StoredMessage m, Principal who, String agentId) {
        AgentSpec agent = agents.find(agentId).orElse(null);
        if (agent == null || agent.usableBy(who)) return false;
        String why = "sender " + m.message().sender().key() + " (team " + who.team()
                + (who.user() == null ? "" : ", user " + who.user()) + ") may not use agent '" + agentId + "' (owned by "
                + agent.owner() + "): members use the agents of their own team or their own";
        audit.record(spec.id(), "refuse", m.message().sender().key(), agentId, "refused", why);
        refuse(spec, m, agentId, why, "Sorry, this assistant does not take messages from you.");
        return true;
    }

    private void unknownSender(ChannelSpec spec, StoredMessage m) {
        Inbound in = m.message();
        Instant now = clock.instant();
        boolean mayReply;
        boolean overBudget = false;
        // Decided and recorded under one lock: a sender's messages in many conversations are handled at once (a
        // forger's mails with as many Message-IDs), and each must see the others' refusals, or each gets a reply.
        synchronized (unknownSenderLocks[Math.floorMod(in.sender().key().hashCode(), unknownSenderLocks.length)]) {
            mayReply = spec.unknownSenders() != UnknownSenders.IGNORE
                    && store.refusalsSince(in.sender().key(), now.minus(REPLY_TO_UNKNOWN_EVERY)) == 0;
            if (mayReply && !replyToUnknownBudget(spec.id(), now)) {
                mayReply = false;
                overBudget = true;
            }
            store.update(m.id(), MessageState.REFUSED, null, null, "unknown sender", now);
        }
        String detail = "unknown sender";
        if (mayReply && spec.unknownSenders() == UnknownSenders.PAIR && !privateTo(spec, in)) {
            // others read this conversation: a code posted here could be confirmed by any of them, for themselves
            detail = "unknown sender in a shared conversation; asked to write directly for a pairing code";
            sendQuietly(spec, m, "Hello! This assistant answers people of the organisation only. To link this "
                    + "account, send me a direct message.", "refuse");
        } else if (mayReply && spec.unknownSenders() == UnknownSenders.PAIR) {
            String code = identities.offer(in.sender(), spec.id());
            detail = "unknown sender; a pairing code was sent";
            publish("pairing_requested", spec, m.id(), in.sender().key(), null, null, -1);
            sendQuietly(spec, m, "Hello! This assistant answers people of the organisation only. To link this account, "
                    + "ask an administrator to run:\n\n    carapace channels pair " + code + "\n\nThe code works once, "
                    + "for one hour.", "pair");
        } else if (mayReply) {
            sendQuietly(spec, m, "Sorry, this assistant answers people of the organisation only.", "refuse");
        } else {
            detail = "unknown sender; not answered (" + (spec.unknownSenders() == UnknownSenders.IGNORE
                    ? "unknown_senders: ignore" : overBudget ? "at most " + REPLIES_TO_UNKNOWN_PER_HOUR
                    + " replies to unknown senders an hour on this channel" : "one reply a day at most") + ")";
        }
        finish(m, null, MessageState.REFUSED, detail);
    }

    /**
     * Takes one of the channel's replies to unknown senders of the last hour, or says there is none left. One reply
     * a day per sender is no bound when each message names a new sender (a mail's From costs nothing to forge): the
     * channel would write to every stranger an attacker lists, with the attacker's subject.
     */
    private boolean replyToUnknownBudget(String channel, Instant now) {
        java.util.Deque<Instant> sent = repliesToUnknown.computeIfAbsent(channel, k -> new java.util.ArrayDeque<>());
        synchronized (sent) {
            while (!sent.isEmpty() && !sent.peekFirst().isAfter(now.minus(Duration.ofHours(1)))) sent.removeFirst();
            if (sent.size() >= REPLIES_TO_UNKNOWN_PER_HOUR) return false;
            sent.addLast(now);
            return true;
        }
    }

    private void refuse(ChannelSpec spec, StoredMessage m, String agent, String why, String reply) {
        sendQuietly(spec, m, reply, "refuse");
        finish(m, agent, MessageState.REFUSED, why);
    }

    private void startRun(ChannelSpec spec, StoredMessage m, Principal who, String agentId) {
        Inbound in = m.message();
        AgentSpec agent = agents.get(agentId);
        // Everything the agent will read is screened before anything is saved or started: the text (with what the
        // voice notes said) and every text file, which the agent's tools would put before a model later.
        String body;
        List<Attachment> files = new ArrayList<>();
        try {
            body = spokenText(in, who);
            for (Attachment a : in.attachments()) files.add(screened(a, who.team(), agentId));
        } catch (ChannelException e) {
            if (e.getMessage().startsWith("privacy: ")) {
                audit.record(spec.id(), "refuse", in.sender().key(), agentId, "refused", e.getMessage());
                refuse(spec, m, agentId, e.getMessage(), "Sorry, this message was not passed on: "
                        + e.getMessage().substring("privacy: ".length()));
            } else {
                refuse(spec, m, agentId, e.getMessage(), "Sorry, this message could not be read: " + e.getMessage());
            }
            return;
        }
        ChannelPrivacy.Screened screened = privacy.inbound(who.team(), agentId, body);
        if (screened.refusal() != null) {
            audit.record(spec.id(), "refuse", in.sender().key(), agentId, "refused", "privacy: " + screened.refusal());
            refuse(spec, m, agentId, "privacy: " + screened.refusal(),
                    "Sorry, this message was not passed on: " + screened.refusal());
            return;
        }
        String text;
        try {
            text = withFiles(screened.text(), files, agent, m.id());
        } catch (ChannelException e) {
            refuse(spec, m, agentId, e.getMessage(), "Sorry, this message could not be read: " + e.getMessage());
            return;
        }
        String runId;
        try {
            runId = runtime.start(agentId, sessionName(spec.id(), in.conversation()), text, who,
                    RunOptions.NONE.via(in.sender().key(), images(in)));
        } catch (ApiException e) {
            finish(m, agentId, MessageState.FAILED, "the run could not start: " + e.getMessage());
            sendQuietly(spec, m, "Sorry, the assistant could not take this message now.", "fail");
            return;
        }
        store.update(m.id(), MessageState.STARTED, agentId, runId, null, clock.instant());
        answer(spec, m, who, agentId, runId);
    }

    /** The message's text, then what its voice notes said. */
    private String spokenText(Inbound in, Principal who) throws ChannelException {
        StringBuilder sb = new StringBuilder(in.text());
        for (Attachment a : in.attachments()) {
            if (a.isAudio() && voice != null) {
                sb.append(sb.isEmpty() ? "" : "\n\n").append("[voice note, transcribed]\n").append(voice.transcribe(who, a));
            }
        }
        return sb.toString();
    }

    /**
     * A text file as the privacy policy lets it through (data it redacts replaced in the saved file); other files as
     * they came (images go to the model as images, under the privacy router's {@code image_class}).
     *
     * @throws ChannelException {@code privacy: ...} when the file holds data the policy blocks
     */
    private Attachment screened(Attachment a, String team, String agentId) throws ChannelException {
        if (!(a.mediaType().startsWith("text/") || a.mediaType().equals("application/json"))) return a;
        String content = new String(a.data(), java.nio.charset.StandardCharsets.UTF_8);
        ChannelPrivacy.Screened s = privacy.inbound(team, agentId, content);
        String name = dev.carapace.text.Excerpt.clip(WorkspaceFiles.safeName(a.name(), 1, a.mediaType()), 80);
        if (s.refusal() != null) throw new ChannelException("privacy: file " + name + ": " + s.refusal(), false);
        return s.text().equals(content) ? a
                : new Attachment(a.name(), a.mediaType(), s.text().getBytes(java.nio.charset.StandardCharsets.UTF_8));
    }

    /** The text the agent gets: the message, then each file saved in its workspace, by path. */
    private static String withFiles(String text, List<Attachment> files, AgentSpec agent, String messageId)
            throws ChannelException {
        if (files.isEmpty()) return text;
        List<String> paths;
        try {
            paths = WorkspaceFiles.save(agent.workspace(), messageId, files);
        } catch (IOException e) {
            throw new ChannelException("its files could not be saved", false, e);
        }
        StringBuilder sb = new StringBuilder(text);
        sb.append(sb.isEmpty() ? "" : "\n\n").append("[files with this message, saved in your workspace]");
        for (int i = 0; i < files.size(); i++) {
            sb.append("\n- ").append(paths.get(i)).append(" (").append(files.get(i).mediaType()).append(", ")
                    .append(files.get(i).data().length).append(" bytes)");
        }
        return sb.toString();
    }

    /**
     * The images of a message the model sees with its text (the vision models' way in; the privacy router's
     * {@code image_class} applies to them as to any image): up to {@link #MAX_IMAGES} of the kinds vision APIs take,
     * each at most {@link #MAX_IMAGE_BYTES}. Every file is in the workspace as well.
     */
    static List<Part.Image> images(Inbound in) {
        List<Part.Image> images = new ArrayList<>();
        for (Attachment a : in.attachments()) {
            if (images.size() < MAX_IMAGES && a.data().length <= MAX_IMAGE_BYTES && VISION_TYPES.contains(a.mediaType())) {
                images.add(new Part.Image(null, a.mediaType(), Base64.getEncoder().encodeToString(a.data())));
            }
        }
        return images;
    }

    /** The session of a conversation: a name the API could also use, derived so no sender can choose it. */
    static String sessionName(String channel, String conversation) {
        try {
            byte[] h = MessageDigest.getInstance("SHA-256").digest((channel + "\u0000" + conversation)
                    .getBytes(StandardCharsets.UTF_8));
            return AgentRuntime.CHANNEL_SESSION_PREFIX + channel + "-" + HexFormat.of().formatHex(h, 0, 12);
        } catch (NoSuchAlgorithmException e) {
            throw new IllegalStateException(e);
        }
    }

    // ---- the way out --------------------------------------------------------------------------------------------

    /** A message whose run a restart interrupted: resumes the run and answers when it ends. */
    private void resumeAndAnswer(StoredMessage m) {
        ChannelSpec spec = specs.get(m.message().channel());
        Principal who = identities.principal(m.message().sender()).orElse(null);
        if (spec == null || who == null) {
            finish(m, m.agent(), MessageState.FAILED, "its channel or its sender's binding is gone");
            return;
        }
        String runId = m.runId();
        RunInfo run = runtime.run(runId);
        if (run.status() == RunStatus.INTERRUPTED) {
            try {
                runId = runtime.resume(run.sessionKey(), who);
            } catch (ApiException e) {
                // a later message's run took the session on already: answer with what this run left
                log.info("channel {}: message {}: its run could not be resumed ({})", spec.id(), m.id(), e.getMessage());
            }
            store.update(m.id(), MessageState.STARTED, m.agent(), runId, null, clock.instant());
        }
        answer(spec, m, who, m.agent(), runId);
    }

    private void answer(ChannelSpec spec, StoredMessage m, Principal who, String agentId, String runId) {
        RunInfo run;
        try {
            do {
                run = runtime.await(runId, Duration.ofMinutes(5));
            } while (!run.status().isFinal() && !closed);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            return;
        }
        if (!run.status().isFinal() || run.status() == RunStatus.INTERRUPTED && closed) return;   // taken up on restart
        String text = run.status() == RunStatus.COMPLETED ? lastAnswer(run) : null;
        if (text == null || text.isBlank()) {
            String why = "the run ended " + run.status().label() + (run.reason() == null ? "" : ": " + run.reason());
            sendQuietly(spec, m, "Sorry, the assistant could not finish an answer (" + run.status().label() + ").", "fail");
            finish(m, agentId, MessageState.FAILED, why);
            return;
        }
        String body = leaving(spec, m, agentId, text);
        if (body == null) {
            finish(m, agentId, MessageState.FAILED, "the answer could not be sent");
            return;
        }
        List<Attachment> audio = List.of();
        if (voice != null && m.message().attachments().stream().anyMatch(Attachment::isAudio) && speaks(spec)) {
            try {
                audio = List.of(voice.speak(who, body));   // what is spoken is what may be written: the screened text
            } catch (ChannelException e) {
                log.info("channel {}: message {}: the answer is sent as text only: {}", spec.id(), m.id(), e.getMessage());
            }
        }
        if (send(spec, m, agentId, body, audio, "answer")) {
            long latency = Duration.between(m.message().receivedAt(), clock.instant()).toMillis();
            store.update(m.id(), MessageState.ANSWERED, agentId, runId, null, clock.instant());
            publish("message_answered", spec, m.id(), m.message().sender().key(), agentId, null, latency);
        } else {
            finish(m, agentId, MessageState.FAILED, "the answer could not be sent");
        }
    }

    /**
     * The answer as it may leave: screened by the privacy router unless its sender is bound and alone reads the
     * conversation; null when the policy stops it (audited). Screened before anything is made of it (speech too).
     */
    private String leaving(ChannelSpec spec, StoredMessage m, String agentId, String text) {
        Inbound in = m.message();
        if (identities.binding(in.sender().key()).isPresent() && privateTo(spec, in)) return text;
        ChannelPrivacy.Screened s = privacy.outbound(agents.get(agentId).owner().team(), agentId, text);
        if (s.refusal() != null) {
            audit.record(spec.id(), "answer", in.sender().key(), agentId, "refused", "privacy: " + s.refusal());
            return null;
        }
        if (!s.kinds().isEmpty()) {
            audit.record(spec.id(), "answer", in.sender().key(), agentId, "redacted", "privacy: " + String.join(", ", s.kinds()));
        }
        return s.text();
    }

    /** Whether only the message's sender reads what is sent in its conversation ({@link Channel#privateTo}). */
    private boolean privateTo(ChannelSpec spec, Inbound in) {
        Channel channel = channels.get(spec.id());
        return channel != null && channel.privateTo(in);
    }

    /** Channels where a voice note is answered with a voice note as well as text. */
    private static boolean speaks(ChannelSpec spec) {
        return spec.kind().equals("telegram") || spec.kind().equals("slack");
    }

    /** The text of the run's last assistant entry. */
    private String lastAnswer(RunInfo run) {
        List<TranscriptEntry> entries = runtime.transcript(run.sessionKey());
        for (int i = entries.size() - 1; i >= 0; i--) {
            TranscriptEntry e = entries.get(i);
            if (run.id().equals(e.runId()) && e.role().equals("assistant") && e.content().hasNonNull("text")
                    && !e.content().get("text").asText().isBlank()) {
                return e.content().get("text").asText();
            }
        }
        return null;
    }

    /** Sends a notice (a pairing code, a refusal); a failure is logged, not retried at length. */
    private void sendQuietly(ChannelSpec spec, StoredMessage m, String text, String action) {
        send(spec, m, null, text, List.of(), action);
    }

    /**
     * Sends {@code text} (an answer already {@link #leaving screened}, or a notice) to the message's sender in its
     * thread, audited, retried with back-off while the failure may pass.
     */
    private boolean send(ChannelSpec spec, StoredMessage m, String agentId, String text, List<Attachment> files,
                         String action) {
        Inbound in = m.message();
        Channel channel = channels.get(spec.id());
        if (channel == null) {
            log.warn("channel {}: not running; message {} not answered", spec.id(), m.id());
            return false;
        }
        Outbound out = new Outbound(spec.id(), in.sender(), in.conversation(), text, files, in.reply(), m.id() + ":" + action);
        Duration wait = firstRetry;
        for (int attempt = 1; ; attempt++) {
            try {
                channel.send(out);
                audit.record(spec.id(), action, in.sender().key(), agentId, "sent", "reply to message " + m.id());
                return true;
            } catch (ChannelException e) {
                if (!e.retryable() || attempt >= SEND_ATTEMPTS || closed) {
                    log.warn("channel {}: message {}: {} not sent after {} attempt(s): {}", spec.id(), m.id(), action,
                            attempt, e.getMessage());
                    audit.record(spec.id(), action, in.sender().key(), agentId, "failed", e.getMessage());
                    return false;
                }
                log.info("channel {}: message {}: sending failed ({}); again in {} s", spec.id(), m.id(),
                        e.getMessage(), wait.toSeconds());
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                return false;
            }
            try {
                Thread.sleep(wait);
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                return false;
            }
            wait = wait.multipliedBy(2);
        }
    }

    private void finish(StoredMessage m, String agent, MessageState state, String detail) {
        store.update(m.id(), state, agent, null, detail, clock.instant());
        ChannelSpec spec = specs.get(m.message().channel());
        String type = switch (state) {
            case REFUSED -> "message_refused";
            case IGNORED -> "message_ignored";
            default -> "message_failed";
        };
        if (spec != null) publish(type, spec, m.id(), m.message().sender().key(), agent, detail, -1);
        log.info("channel {}: message {} from {}: {} ({})", m.message().channel(), m.id(), m.message().sender().key(),
                state.label(), detail);
    }

    private void publish(String type, ChannelSpec spec, String id, String sender, String agent, String detail, long ms) {
        events.publish(new ChannelEvent(type, spec.id(), spec.kind(), id, sender, agent, detail, ms, clock.instant()));
    }

    private static String clipId(String id) { return dev.carapace.text.Excerpt.clip(id, 80); }

    /** Stops the channels, then the work in progress (a run being awaited is taken up again on the next start). */
    @Override
    public void close() {
        closed = true;
        for (Channel c : channels.values()) {
            try {
                c.close();
            } catch (RuntimeException e) {
                log.warn("channel {} did not close cleanly", c.id(), e);
            }
        }
        // A reply being sent gets a moment to be recorded (else it goes again after the restart); runs being
        // awaited are not waited for: they are taken up on the next start.
        workers.shutdown();
        try {
            workers.awaitTermination(2, java.util.concurrent.TimeUnit.SECONDS);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
        workers.shutdownNow();
    }
}
