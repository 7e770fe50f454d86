package dev.carapace.channel;

/**
 * The audit log, as the channels write to it: every message sent, every message refused, every binding and pairing
 * decision. Records carry who and what was decided, never a message's text or a credential.
 */
public interface ChannelAudit {

    ChannelAudit NONE = (channel, action, subject, agent, outcome, detail) -> {};

    /**
     * @param channel the channel's id
     * @param action  {@code send}, {@code refuse}, {@code pair}, {@code bind}, {@code unbind}, {@code approve}...
     * @param subject the sender or recipient's key, or the operator for an approval
     * @param agent   the agent concerned, or null
     * @param outcome {@code sent}, {@code failed}, {@code refused}, {@code redacted}, {@code allowed}...
     * @param detail  why, in a sentence without message text
     */
    void record(String channel, String action, String subject, String agent, String outcome, String detail);
}
