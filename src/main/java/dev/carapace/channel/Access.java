package dev.carapace.channel;

/** Whether messages from a channel may reach an agent: the guard's word for channels, set per agent binding. */
public enum Access {
    /** Every message from a bound sender is handled. */
    ALLOW,
    /** None is: the sender is told so, politely. */
    DENY,
    /** Each message waits until an operator approves it ({@code POST /api/channels/messages/ID/approve}). */
    ASK
}
