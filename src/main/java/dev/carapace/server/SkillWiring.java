package dev.carapace.server;

import dev.carapace.agent.AgentSpec;
import dev.carapace.config.CarapaceConfig;
import dev.carapace.guard.AuditEvent;
import dev.carapace.guard.AuditSink;
import dev.carapace.server.adapter.StoreSkillVersions;
import dev.carapace.skill.repo.AgentOwners;
import dev.carapace.skill.repo.SkillRepository;
import dev.carapace.skill.scan.SkillScanner;
import dev.carapace.store.Store;

import java.time.Clock;
import java.util.Optional;
import java.util.Set;

/**
 * The org skill repository built once, for the gateway and for the command line alike: the store's tables, the
 * scanner, the config's agents and teams for scopes, and the guard's audit log for every decision.
 */
public final class SkillWiring {

    private SkillWiring() {}

    public static SkillRepository repository(CarapaceConfig config, Store store, AuditSink audit, Clock clock) {
        AgentOwners owners = new AgentOwners() {
            @Override
            public Optional<Owner> owner(String agent) {
                AgentSpec a = config.agents().get(agent);
                return a == null ? Optional.empty() : Optional.of(new Owner(a.owner().team(), a.owner().user()));
            }

            @Override
            public Set<String> teams() { return config.teams().keySet(); }
        };
        return new SkillRepository(new StoreSkillVersions(store.skillVersions()), new SkillScanner(),
                (action, caller, target, outcome, reason) -> audit.record(new AuditEvent(clock.instant(),
                        config.org() + "/" + (caller.team() == null ? "-" : caller.team()) + "/" + caller.name(), null, null,
                        "skills", action, target, outcome, null, reason)),
                owners, config.skills().autoApprove(), clock);
    }
}
