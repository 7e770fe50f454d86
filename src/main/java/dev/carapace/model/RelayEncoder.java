package dev.carapace.model;

import java.io.IOException;
import java.io.OutputStream;

/**
 * The client side of a relayed stream ({@link WireFormat#relayEncoder}): each upstream frame goes on as it came, with
 * the model name put back. The three relays differ only in which frames they write and what they splice
 * ({@link #frame}); the buffer and the two ways of handing a frame on are this class's.
 */
public abstract class RelayEncoder implements WireFormat.StreamEncoder {

    /** What a call writes when it has nothing to write. */
    protected static final byte[] EMPTY = new byte[0];

    /** The frame {@link #frame} wrote; reset by each. */
    protected final JsonBytes out = new JsonBytes(256);

    @Override
    public final byte[] encode(StreamEvent event) {
        return frame(event) ? out.toByteArray() : EMPTY;
    }

    @Override
    public final boolean encodeTo(StreamEvent event, OutputStream to) throws IOException {
        if (!frame(event)) return false;
        out.writeTo(to);
        return true;
    }

    /** Writes the frame for {@code event} into {@link #out}, if there is one to write. */
    protected abstract boolean frame(StreamEvent event);
}
