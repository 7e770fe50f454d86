package dev.carapace.server.adapter;

import dev.carapace.agent.Approvals;
import dev.carapace.agent.Guard;
import dev.carapace.guard.ActingFor;
import dev.carapace.guard.approval.ApprovalQueue;
import dev.carapace.store.ApprovalRecords.ApprovalRow;

import java.util.function.Consumer;

/** The agent runtime's {@link Approvals} over the guard's {@link ApprovalQueue}. */
public final class QueuedApprovals implements Approvals {

    private final ApprovalQueue queue;
    private final ActingFor actingFor;

    /** @param actingFor whom an approval names as asking ({@code org/team[/user]}) */
    public QueuedApprovals(ApprovalQueue queue, ActingFor actingFor) {
        this.queue = queue;
        this.actingFor = actingFor;
    }

    @Override
    public Outcome await(Request request, Consumer<Pending> opened) throws InterruptedException {
        Guard.Decision d = request.decision();
        ApprovalRow pending = queue.open(new ApprovalQueue.Request(actingFor.principal(request.agent(), request.sessionKey()), request.agent(),
                request.sessionKey(), request.runId(), request.callId(), request.tool(), d.layer(), d.target(), d.rule(),
                d.reason(), d.remedy()));
        opened.accept(new Pending(pending.id(), pending.expiresAt()));
        ApprovalRow decided = queue.await(pending);
        return new Outcome(decided.id(), decided.status(), decided.decidedBy(), decided.decisionReason());
    }
}
