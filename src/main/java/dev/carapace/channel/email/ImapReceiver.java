package dev.carapace.channel.email;

import dev.carapace.channel.ChannelException;
import dev.carapace.channel.ChannelState;
import dev.carapace.channel.Inbox;
import dev.carapace.channel.Secrets;
import jakarta.mail.FetchProfile;
import jakarta.mail.Flags;
import jakarta.mail.Folder;
import jakarta.mail.FolderClosedException;
import jakarta.mail.Message;
import jakarta.mail.MessagingException;
import jakarta.mail.Session;
import jakarta.mail.StoreClosedException;
import jakarta.mail.UIDFolder;
import jakarta.mail.search.FlagTerm;
import org.eclipse.angus.mail.imap.IMAPFolder;
import org.eclipse.angus.mail.imap.IMAPStore;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.time.Clock;
import java.time.Duration;
import java.util.Arrays;
import java.util.Comparator;
import java.util.Enumeration;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;

/**
 * The loop that reads one mailbox: log in, take what is new, wait for more with IMAP IDLE (or look again every
 * {@code poll_every} when the server has no IDLE or its IDLE fails), and when the connection drops, connect again
 * after a back-off that doubles up to {@value #MAX_BACKOFF_MINUTES} minutes.
 *
 * <h2>Never lose a mail, never handle one twice</h2>
 * A mail is acknowledged only after the {@link Inbox} stored it: flagged {@code \Seen}, and its UID written to the
 * channel's state with the folder's UIDVALIDITY. The next pass takes the UIDs above it; when there is no state yet, or
 * the UIDVALIDITY changed (the folder was rebuilt, its UIDs mean other mails now), it takes the unseen mails instead.
 * A {@code kill -9} between storing and flagging delivers the mail again, which the inbox drops as a duplicate (by
 * Message-ID, or the synthetic id of a mail without one). A mail the inbox cannot take now (a retryable
 * {@link ChannelException}) stays unseen and stops the pass, so it and the ones after it are taken in order later; one
 * it refuses for good is left unseen for a person to look at, and the loop moves past it.
 *
 * <p>Nothing in a mail stops the loop: the parser never throws, and a failure of one mail is logged and passed.
 */
final class ImapReceiver implements Runnable {

    private static final Logger log = LoggerFactory.getLogger(ImapReceiver.class);
    static final int MAX_BACKOFF_MINUTES = 5;

    private enum Outcome { TAKEN, RETRY, PASSED }

    private final String channel;
    private final EmailSettings settings;
    private final Secrets secrets;
    private final ChannelState state;
    private final Clock clock;
    private final MailParser parser;
    private final Inbox inbox;
    private final Duration firstRetry;
    private final Session session;
    private final Object wake = new Object();
    private volatile boolean closed;
    private volatile IMAPFolder folder;
    /** How many times a connection was opened (for tests and the log). */
    final AtomicInteger connections = new AtomicInteger();
    /** {@code idle} or {@code poll} on the current connection; null when not connected. */
    volatile String mode;

    ImapReceiver(String channel, EmailSettings settings, Secrets secrets, ChannelState state, Clock clock,
                 MailParser parser, Inbox inbox, Duration firstRetry) {
        this.channel = channel;
        this.settings = settings;
        this.secrets = secrets;
        this.state = state;
        this.clock = clock;
        this.parser = parser;
        this.inbox = inbox;
        this.firstRetry = firstRetry;
        this.session = MailSessions.imap(settings.imap());
    }

    @Override
    public void run() {
        Duration backoff = firstRetry;
        while (!closed) {
            int opened = connections.get();
            try {
                connected();
            } catch (ChannelException e) {
                log.warn("channel {}: IMAP {}: {}", channel, settings.imap().describe(), e.getMessage());
            } catch (MessagingException e) {
                if (closed) break;
                if (connections.get() > opened) backoff = firstRetry;   // it was up: a fresh drop, not the same outage
                log.warn("channel {}: IMAP {}: connection lost or refused ({}); connecting again in {} ms", channel,
                        settings.imap().describe(), e.getMessage(), backoff.toMillis());
            } catch (RuntimeException e) {
                if (closed) break;
                if (connections.get() > opened) backoff = firstRetry;
                log.warn("channel {}: IMAP {}: the mail loop failed; starting again in {} ms", channel,
                        settings.imap().describe(), backoff.toMillis(), e);
            } finally {
                mode = null;
            }
            if (closed) break;
            pause(backoff);
            backoff = backoff.multipliedBy(2);
            if (backoff.compareTo(Duration.ofMinutes(MAX_BACKOFF_MINUTES)) > 0) backoff = Duration.ofMinutes(MAX_BACKOFF_MINUTES);
        }
    }

    /** One connection, from logging in until it drops or the channel closes. */
    private void connected() throws MessagingException, ChannelException {
        IMAPStore imap = (IMAPStore) session.getStore(MailSessions.protocol(settings.imap(), true));
        try {
            String password = settings.imap().passwordSecret() == null ? null : secrets.value(settings.imap().passwordSecret());
            imap.connect(settings.imap().host(), settings.imap().port(), settings.imap().user(), password);
            IMAPFolder f = (IMAPFolder) imap.getFolder(settings.folder());
            f.open(Folder.READ_WRITE);
            folder = f;
            connections.incrementAndGet();
            boolean idle = settings.idle() && imap.hasCapability("IDLE");
            mode = idle ? "idle" : "poll";
            log.info("channel {}: reading {} on IMAP {} ({})", channel, settings.folder(), settings.imap().describe(),
                    idle ? "IDLE" : "polling every " + settings.pollEvery().toSeconds() + " s");
            while (!closed) {
                int before = f.getMessageCount();
                boolean again = takeNew(f);
                if (closed) break;
                if (again) {
                    pause(settings.pollEvery());
                } else if (countNow(f) != before) {
                    continue;   // mail came while this pass ran: an IDLE started now might not tell of it
                } else if (idle) {
                    idle = idleOnce(f);
                    if (!idle) mode = "poll";
                } else {
                    pause(settings.pollEvery());
                }
            }
        } finally {
            folder = null;
            try {
                imap.close();
            } catch (MessagingException | RuntimeException e) {
                // the connection is gone already
            }
        }
    }

    /**
     * Waits in IDLE until the server says something or {@code idle_refresh} passes; false when IDLE failed though
     * the connection holds (then this connection polls).
     */
    private boolean idleOnce(IMAPFolder f) throws MessagingException {
        CountDownLatch done = new CountDownLatch(1);
        Thread.ofVirtual().name("email-" + channel + "-idle-refresh").start(() -> {
            try {
                if (!done.await(settings.idleRefresh().toMillis(), TimeUnit.MILLISECONDS)) poke(f);
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
            }
        });
        try {
            f.idle(true);
            return true;
        } catch (FolderClosedException | StoreClosedException e) {
            throw e;
        } catch (MessagingException e) {
            if (!f.isOpen()) throw e;
            log.info("channel {}: IMAP IDLE failed ({}); polling every {} s on this connection", channel,
                    e.getMessage(), settings.pollEvery().toSeconds());
            return false;
        } finally {
            done.countDown();
        }
    }

    /**
     * The folder's message count as the server has it now: a NOOP first, since the client's count is only as fresh as
     * the last answer it read.
     */
    private static int countNow(IMAPFolder f) throws MessagingException {
        f.doCommand(p -> {
            p.simpleCommand("NOOP", null);
            return null;
        });
        return f.getMessageCount();
    }

    /** Ends an IDLE in progress: a NOOP on the folder's connection does (and fails on a dead connection). */
    private static void poke(IMAPFolder f) {
        try {
            f.doCommand(p -> {
                p.simpleCommand("NOOP", null);
                return null;
            });
        } catch (MessagingException | RuntimeException e) {
            // the IDLE thread sees the same failure
        }
    }

    /** Takes the new mails in UID order; true when the inbox asked to try again later. */
    private boolean takeNew(IMAPFolder f) throws MessagingException {
        String validityKey = "uidvalidity:" + settings.folder();
        String lastKey = "last_uid:" + settings.folder();
        String validity = Long.toString(f.getUIDValidity());
        long last = -1;
        if (state.get(validityKey).map(validity::equals).orElse(false)) {
            last = state.get(lastKey).map(Long::parseLong).orElse(-1L);
        }
        boolean unseenOnly = last < 0;
        long uidNext = unseenOnly ? f.getUIDNext() : -1;
        Message[] found = unseenOnly ? f.search(new FlagTerm(new Flags(Flags.Flag.SEEN), false))
                : f.getMessagesByUID(last + 1, UIDFolder.LASTUID);
        FetchProfile profile = new FetchProfile();
        profile.add(UIDFolder.FetchProfileItem.UID);
        profile.add(FetchProfile.Item.SIZE);
        f.fetch(found, profile);
        Message[] mails = Arrays.stream(found).filter(m -> m != null && !m.isExpunged())
                .sorted(Comparator.comparingLong(m -> uid(f, m))).toArray(Message[]::new);
        for (Message m : mails) {
            long uid = uid(f, m);
            if (uid <= last || closed) continue;
            Outcome outcome = take(f, m, uid);
            if (outcome == Outcome.RETRY) return true;
            if (outcome == Outcome.TAKEN) m.setFlag(Flags.Flag.SEEN, true);
            last = uid;
            remember(validityKey, validity, lastKey, last);
        }
        if (unseenOnly && uidNext > 0) remember(validityKey, validity, lastKey, Math.max(last, uidNext - 1));
        return false;
    }

    private void remember(String validityKey, String validity, String lastKey, long last) {
        state.put(validityKey, validity);
        state.put(lastKey, Long.toString(last));
    }

    private static long uid(IMAPFolder f, Message m) {
        try {
            return f.getUID(m);
        } catch (MessagingException e) {
            return Long.MAX_VALUE;
        }
    }

    /** Reads one mail and hands it to the inbox. */
    private Outcome take(IMAPFolder f, Message m, long uid) throws MessagingException {
        MailParser.Read read;
        try {
            int size = m.getSize();
            byte[] raw = size > settings.maxMessageBytes() ? null : raw(m, settings.maxMessageBytes());
            read = raw == null ? parser.headersOnly(headers(m), Math.max(size, settings.maxMessageBytes() + 1), clock.instant())
                    : parser.parse(raw, clock.instant());
        } catch (FolderClosedException | StoreClosedException e) {
            throw e;
        } catch (MessagingException | IOException | RuntimeException e) {
            if (!f.isOpen()) throw new FolderClosedException(f, e.getMessage());
            log.warn("channel {}: mail UID {} could not be fetched ({}); passed over, left unseen", channel, uid,
                    e.getMessage());
            return Outcome.PASSED;
        }
        if (!read.problems().isEmpty()) {
            log.info("channel {}: mail UID {} {}: {}", channel, uid, MailThread.oneLine(read.inbound().messageId(), 80),
                    MailThread.oneLine(String.join("; ", read.problems()), 500));
        }
        try {
            inbox.receive(read.inbound());
            return Outcome.TAKEN;
        } catch (ChannelException e) {
            if (e.retryable()) {
                log.info("channel {}: mail UID {} not taken now ({}); tried again in {} s", channel, uid,
                        e.getMessage(), settings.pollEvery().toSeconds());
                return Outcome.RETRY;
            }
            log.warn("channel {}: mail UID {} refused ({}); left unseen", channel, uid, e.getMessage());
            return Outcome.PASSED;
        }
    }

    /** The whole mail as the server holds it; null when it turns out longer than {@code max}. */
    private static byte[] raw(Message m, long max) throws MessagingException, IOException {
        ByteArrayOutputStream out = new ByteArrayOutputStream(Math.max(1024, Math.min(m.getSize(), (int) max)));
        try {
            m.writeTo(new java.io.FilterOutputStream(out) {
                long written;

                @Override
                public void write(int b) throws IOException {
                    if (++written > max) throw new TooBig();
                    out.write(b);
                }

                @Override
                public void write(byte[] b, int off, int len) throws IOException {
                    written += len;
                    if (written > max) throw new TooBig();
                    out.write(b, off, len);
                }
            });
        } catch (TooBig e) {
            return null;
        }
        return out.toByteArray();
    }

    private static final class TooBig extends IOException {
        TooBig() { super("over the limit", null); }
    }

    private static byte[] headers(Message m) throws MessagingException {
        StringBuilder sb = new StringBuilder();
        Enumeration<String> lines = ((jakarta.mail.internet.MimeMessage) m).getAllHeaderLines();
        while (lines.hasMoreElements()) sb.append(lines.nextElement()).append("\r\n");
        return sb.append("\r\n").toString().getBytes(StandardCharsets.UTF_8);
    }

    private void pause(Duration d) {
        synchronized (wake) {
            if (closed) return;
            try {
                wake.wait(Math.max(1, d.toMillis()));
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                closed = true;
            }
        }
    }

    /** Stops the loop: wakes it from a pause and ends an IDLE in progress. */
    void close() {
        closed = true;
        synchronized (wake) {
            wake.notifyAll();
        }
        IMAPFolder f = folder;
        if (f != null) Thread.ofVirtual().name("email-" + channel + "-close").start(() -> poke(f));
    }
}
