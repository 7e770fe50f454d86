package dev.carapace.channel;

import java.util.List;

/**
 * The privacy router's screen at a channel's edge: what comes in before any model sees it, and what goes out to a
 * recipient outside the org (anyone no identity binding names). The policy's action per class of data decides:
 * blocked data refuses the message, redacted data is replaced for good (a channel has no answer to restore it in).
 * Data the policy keeps on private models is let in (every model call is screened again by the gateway) but
 * redacted on the way out to an external recipient: it must not leave.
 */
public interface ChannelPrivacy {

    /** Lets everything through: no {@code privacy:} section. */
    ChannelPrivacy NONE = new ChannelPrivacy() {
        @Override
        public Screened inbound(String team, String agent, String text) { return new Screened(text, null, List.of()); }

        @Override
        public Screened outbound(String team, String agent, String text) { return new Screened(text, null, List.of()); }
    };

    /** A message for {@code agent}, sent by a member of {@code team}. */
    Screened inbound(String team, String agent, String text);

    /** A message from {@code agent} (owned by {@code team}) to an external recipient. */
    Screened outbound(String team, String agent, String text);

    /**
     * What the screen made of a text.
     *
     * @param text    the text to use (redacted where the policy says), or null when refused
     * @param refusal why it may not pass, naming the kinds of data and their lines and never their values; null when
     *                it may
     * @param kinds   the kinds of data found (e.g. {@code credit_card}), for the audit record
     */
    record Screened(String text, String refusal, List<String> kinds) {

        public Screened {
            kinds = List.copyOf(kinds);
        }
    }
}
