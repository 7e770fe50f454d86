package dev.carapace.channel.email;

import com.icegreen.greenmail.util.GreenMail;
import com.icegreen.greenmail.util.ServerSetup;
import com.icegreen.greenmail.util.ServerSetupTest;
import dev.carapace.channel.Inbound;
import dev.carapace.channel.Inbox;
import dev.carapace.channel.email.EmailTestKit.MemoryState;
import jakarta.mail.Session;
import jakarta.mail.Transport;
import jakarta.mail.internet.MimeMessage;

import java.io.BufferedReader;
import java.io.ByteArrayInputStream;
import java.io.InputStreamReader;
import java.lang.management.ManagementFactory;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Properties;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;

/**
 * The e-mail channel's figures (issue 18): inbound throughput (IMAP fetch + MIME parse + {@code Inbox.receive}, mails
 * a second), latency from a mail accepted by SMTP to the inbox (IDLE), and memory per idle channel (one IMAP IDLE
 * connection each). The mail server (GreenMail) runs in a child JVM so its memory and threads are not counted.
 *
 * <pre>
 * bench/email-channel [MAILS] [CHANNELS]      # defaults 2000 and 50
 * </pre>
 */
public final class EmailChannelBench {

    private EmailChannelBench() {}

    public static void main(String[] args) throws Exception {
        if (args.length > 0 && args[0].equals("server")) {
            server(Integer.parseInt(args[1]));
            return;
        }
        int mails = args.length > 0 ? Integer.parseInt(args[0]) : 2000;
        parseOnly(20_000);
        int channels = args.length > 1 ? Integer.parseInt(args[1]) : 50;
        Process child = new ProcessBuilder(ProcessHandle.current().info().command().orElse("java"), "-cp",
                System.getProperty("java.class.path"), EmailChannelBench.class.getName(), "server", String.valueOf(channels + 2))
                .redirectError(ProcessBuilder.Redirect.INHERIT).start();
        BufferedReader out = new BufferedReader(new InputStreamReader(child.getInputStream()));
        String[] ports = out.readLine().split(" ");
        int smtp = Integer.parseInt(ports[0]);
        int imap = Integer.parseInt(ports[1]);
        try {
            throughput(mails, smtp, imap);
            latency(100, smtp, imap);
            memory(channels, smtp, imap);
        } finally {
            child.destroy();
        }
    }

    private static String mail(String to, int i) {
        return """
                From: Alice Example <alice@example.org>
                To: %s
                Subject: Question %d about the printer
                Message-ID: <bench-%d-%d@example.org>
                Date: Sat, 5 Dec 2026 10:00:00 +0000
                MIME-Version: 1.0
                Content-Type: multipart/alternative; boundary="b"

                --b
                Content-Type: text/plain; charset=utf-8

                Hello, the printer on floor %d shows error E-%d again. Could you look into it?
                Thanks, Alice
                --b
                Content-Type: text/html; charset=utf-8

                <p>Hello, the printer on floor %d shows <b>error E-%d</b> again. Could you look into it?</p><p>Thanks, Alice</p>
                --b--
                """.formatted(to, i, System.nanoTime(), i, i % 9, i, i % 9, i);
    }

    /** The parser alone (CPU): the same kind of mail, from bytes to an Inbound. */
    private static void parseOnly(int mails) {
        MailParser parser = new MailParser("mail", EmailTestKit.settings("agent0@corp.example", 1, 1, true,
                Duration.ofMinutes(1)), 10 << 20);
        byte[][] raw = new byte[100][];
        for (int i = 0; i < raw.length; i++) raw[i] = EmailTestKit.bytes(mail("agent0@corp.example", i));
        for (int i = 0; i < 5_000; i++) parser.parse(raw[i % raw.length], java.time.Instant.now());   // warm-up
        long start = System.nanoTime();
        long chars = 0;
        for (int i = 0; i < mails; i++) chars += parser.parse(raw[i % raw.length], java.time.Instant.now()).inbound().text().length();
        double s = (System.nanoTime() - start) / 1e9;
        System.out.printf("parse only: %d mails (multipart/alternative, ~1 KB) in %.2f s: %.0f mails/s on one thread (%d chars)%n",
                mails, s, mails / s, chars);
    }

    private static void send(int smtp, String to, int i) throws Exception {
        Properties p = new Properties();
        p.setProperty("mail.smtp.host", "127.0.0.1");
        p.setProperty("mail.smtp.port", String.valueOf(smtp));
        Session s = Session.getInstance(p);
        Transport.send(new MimeMessage(s, new ByteArrayInputStream(EmailTestKit.bytes(mail(to, i)))));
    }

    private static EmailChannel channel(String address, int imap, int smtp, Inbox inbox) {
        EmailSettings s = EmailTestKit.settings(address, imap, smtp, true, Duration.ofMinutes(5));
        s = new EmailSettings(s.imap(), s.folder(), true, s.pollEvery(), Duration.ofSeconds(40), s.smtp(), s.addresses(),
                null, false, null, s.maxMessageBytes());
        EmailChannel c = new EmailChannel(EmailTestKit.context(s, new MemoryState()), Duration.ofMillis(200));
        c.start(inbox);
        return c;
    }

    private static void throughput(int mails, int smtp, int imap) throws Exception {
        String to = "agent0@corp.example";
        for (int i = 0; i < mails; i++) send(smtp, to, i);
        CountDownLatch all = new CountDownLatch(mails);
        long start = System.nanoTime();
        try (EmailChannel c = channel(to, imap, smtp, m -> {
            all.countDown();
            return true;
        })) {
            if (!all.await(10, TimeUnit.MINUTES)) throw new IllegalStateException("not all mails arrived");
            double s = (System.nanoTime() - start) / 1e9;
            System.out.printf("throughput: %d mails (multipart/alternative, ~1 KB) from IMAP into the inbox in %.2f s: %.0f mails/s "
                    + "(connect, fetch, parse, \\Seen and UID state per mail; one connection)%n", mails, s, mails / s);
        }
    }

    private static void latency(int mails, int smtp, int imap) throws Exception {
        String to = "agent1@corp.example";
        java.util.concurrent.LinkedBlockingQueue<Long> arrived = new java.util.concurrent.LinkedBlockingQueue<>();
        try (EmailChannel c = channel(to, imap, smtp, m -> {
            arrived.add(System.nanoTime());
            return true;
        })) {
            while (!"idle".equals(c.mode())) Thread.sleep(10);
            long[] us = new long[mails];
            int missed = 0;
            for (int i = 0; i < mails; i++) {
                send(smtp, to, i);
                long sent = System.nanoTime();
                Long got = arrived.poll(30, TimeUnit.SECONDS);
                if (got == null) {   // an IDLE that did not tell of the mail: found at the next idle_refresh
                    missed++;
                    got = arrived.take();
                }
                us[i] = (got - sent) / 1000;
            }
            Arrays.sort(us);
            System.out.printf("latency: SMTP accepted -> Inbox.receive over IDLE, %d mails one at a time: p50 %.1f ms, p90 %.1f ms, "
                    + "p99 %.1f ms; %d not told of by IDLE within 30 s%n", mails, us[mails / 2] / 1000.0,
                    us[mails * 9 / 10] / 1000.0, us[mails * 99 / 100] / 1000.0, missed);
        }
    }

    private static void memory(int channels, int smtp, int imap) throws Exception {
        Inbox none = (Inbound m) -> true;
        settle();
        long heap0 = heap();
        long rss0 = rss();
        int threads0 = Thread.activeCount();
        List<EmailChannel> open = new ArrayList<>();
        for (int i = 0; i < channels; i++) open.add(channel("agent" + (i + 2) + "@corp.example", imap, smtp, none));
        for (EmailChannel c : open) while (!"idle".equals(c.mode())) Thread.sleep(5);
        Thread.sleep(1000);
        settle();
        long heap1 = heap();
        long rss1 = rss();
        int threads1 = Thread.activeCount();
        System.out.printf("memory: %d idle channels (one IMAP IDLE connection each): heap +%.1f KiB, RSS +%.1f KiB, "
                        + "threads +%.1f per channel%n", channels, (heap1 - heap0) / 1024.0 / channels,
                (rss1 - rss0) / 1024.0 / channels, (threads1 - threads0) / (double) channels);
        for (EmailChannel c : open) c.close();
    }

    private static void settle() throws InterruptedException {
        for (int i = 0; i < 3; i++) {
            System.gc();
            Thread.sleep(200);
        }
    }

    private static long heap() {
        return ManagementFactory.getMemoryMXBean().getHeapMemoryUsage().getUsed();
    }

    private static long rss() throws Exception {
        for (String line : Files.readAllLines(Path.of("/proc/self/status"))) {
            if (line.startsWith("VmRSS:")) return Long.parseLong(line.replaceAll("[^0-9]", "")) * 1024;
        }
        return 0;
    }

    /** The child: a mail server with accounts agent0..agentN-1, its ports on stdout, until its parent goes. */
    private static void server(int accounts) throws Exception {
        GreenMail g = new GreenMail(new ServerSetup[]{ServerSetupTest.SMTP.dynamicPort(), ServerSetupTest.IMAP.dynamicPort()});
        g.start();
        for (int i = 0; i < accounts; i++) g.setUser("agent" + i + "@corp.example", "agent" + i + "@corp.example", EmailTestKit.PASSWORD);
        System.out.println(g.getSmtp().getPort() + " " + g.getImap().getPort());
        System.out.flush();
        while (System.in.read() >= 0) Thread.onSpinWait();
        g.stop();
    }
}
