package dev.carapace.guard.egress;

import java.io.IOException;

/** The proxy refused a request; the message is the {@link Denial}'s JSON, safe to show the model. */
public final class EgressDeniedException extends IOException {

    private final Denial denial;

    public EgressDeniedException(Denial denial) {
        super(denial.json(), null);
        this.denial = denial;
    }

    public Denial denial() {
        return denial;
    }
}
