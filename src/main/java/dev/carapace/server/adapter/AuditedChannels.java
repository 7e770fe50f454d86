package dev.carapace.server.adapter;

import dev.carapace.channel.ChannelAudit;
import dev.carapace.guard.AuditEvent;
import dev.carapace.guard.audit.AuditLog;

import java.time.Clock;

/** The channels' decisions in the audit chain, layer {@code channels}: principal {@code channel:ID}, target the sender. */
public final class AuditedChannels implements ChannelAudit {

    private final AuditLog log;
    private final Clock clock;

    public AuditedChannels(AuditLog log, Clock clock) {
        this.log = log;
        this.clock = clock;
    }

    @Override
    public void record(String channel, String action, String subject, String agent, String outcome, String detail) {
        log.record(new AuditEvent(clock.instant(), "channel:" + channel, agent, null, "channels", action, subject, outcome,
                null, detail));
    }
}
