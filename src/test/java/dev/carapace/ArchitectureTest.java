package dev.carapace;

import com.tngtech.archunit.core.importer.ImportOption;
import com.tngtech.archunit.junit.AnalyzeClasses;
import com.tngtech.archunit.junit.ArchTest;
import com.tngtech.archunit.lang.ArchRule;

import static com.tngtech.archunit.lang.syntax.ArchRuleDefinition.classes;
import static com.tngtech.archunit.lang.syntax.ArchRuleDefinition.noClasses;
import static com.tngtech.archunit.library.Architectures.layeredArchitecture;
import static com.tngtech.archunit.library.dependencies.SlicesRuleDefinition.slices;

/**
 * The package rules of ARCHITECTURE.md, checked on the compiled main classes: the table of packages as one layered
 * rule (which package may use which), then the rules the table cannot say (what third-party code a package may
 * know, and what the agent reaches only through its own interfaces).
 */
@AnalyzeClasses(packages = "dev.carapace", importOptions = ImportOption.DoNotIncludeTests.class)
class ArchitectureTest {

    /** The package table of ARCHITECTURE.md: each package uses only those below it that it names. */
    @ArchTest
    static final ArchRule packagesUseOnlyWhatTheTableAllows = layeredArchitecture()
            .consideringOnlyDependenciesInLayers()
            .layer("text").definedBy("dev.carapace.text..")
            .layer("yaml").definedBy("dev.carapace.yaml..")
            .layer("fs").definedBy("dev.carapace.fs..")
            .layer("store").definedBy("dev.carapace.store..")
            .layer("model").definedBy("dev.carapace.model..")
            .layer("identity").definedBy("dev.carapace.identity..")
            .layer("gateway").definedBy("dev.carapace.gateway..")
            .layer("ledger").definedBy("dev.carapace.ledger..")
            .layer("privacy").definedBy("dev.carapace.privacy..")
            .layer("guard").definedBy("dev.carapace.guard..")
            .layer("agent").definedBy("dev.carapace.agent..")
            .layer("schedule").definedBy("dev.carapace.schedule..")
            .layer("skill").definedBy("dev.carapace.skill..")
            .layer("memory").definedBy("dev.carapace.memory..")
            .layer("channel").definedBy("dev.carapace.channel..")
            .layer("config").definedBy("dev.carapace.config..")
            .layer("server").definedBy("dev.carapace.server..")
            .whereLayer("text").mayNotAccessAnyLayer()
            .whereLayer("yaml").mayNotAccessAnyLayer()
            .whereLayer("fs").mayNotAccessAnyLayer()
            .whereLayer("store").mayNotAccessAnyLayer()
            .whereLayer("model").mayOnlyAccessLayers("text")
            .whereLayer("identity").mayOnlyAccessLayers("text", "model", "store")
            .whereLayer("gateway").mayOnlyAccessLayers("text", "model", "identity")
            .whereLayer("ledger").mayOnlyAccessLayers("text", "gateway", "identity", "model", "store")
            .whereLayer("privacy").mayOnlyAccessLayers("text", "gateway", "identity", "model")
            .whereLayer("guard").mayOnlyAccessLayers("text", "yaml", "fs", "store")
            .whereLayer("agent").mayOnlyAccessLayers("text", "gateway", "identity", "model", "fs")
            .whereLayer("skill").mayOnlyAccessLayers("text", "yaml", "fs", "model", "agent")
            .whereLayer("schedule").mayOnlyAccessLayers("text", "yaml", "fs", "gateway", "identity", "model", "agent")
            .whereLayer("memory").mayOnlyAccessLayers("text", "model", "identity", "agent")
            .whereLayer("channel").mayOnlyAccessLayers("text", "yaml", "fs", "model", "identity", "agent")
            .whereLayer("config").mayOnlyAccessLayers("text", "yaml", "fs", "model", "guard", "privacy", "agent", "schedule", "skill",
                    "channel")
            .whereLayer("server").mayNotBeAccessedByAnyLayer()
            .because("ARCHITECTURE.md, \"Packages and what each owns\": the arrows there are the only ones allowed");

    @ArchTest
    static final ArchRule everyPackageHasItsLayer = classes()
            .that().resideInAPackage("dev.carapace..")
            .should().resideInAnyPackage("dev.carapace.text..", "dev.carapace.yaml..", "dev.carapace.fs..", "dev.carapace.store..",
                    "dev.carapace.model..", "dev.carapace.identity..", "dev.carapace.gateway..", "dev.carapace.ledger..",
                    "dev.carapace.privacy..", "dev.carapace.guard..", "dev.carapace.agent..", "dev.carapace.schedule..", "dev.carapace.skill..", "dev.carapace.memory..", "dev.carapace.config..",
                    "dev.carapace.channel..", "dev.carapace.server..")
            .because("a new package gets its row in ARCHITECTURE.md and its layer in the rule above");

    @ArchTest
    static final ArchRule agentReachesThePipelineOnlyThroughItsOwnInterfaces = noClasses()
            .that().resideInAPackage("dev.carapace.agent..")
            .should().dependOnClassesThat().resideInAnyPackage("dev.carapace.ledger..", "dev.carapace.privacy..",
                    "dev.carapace.guard..", "dev.carapace.store..")
            .because("the agent runtime asks its own Guard, FileGate, UrlGate, Approvals, SpawnAudit and SessionStore, "
                    + "and calls models through the gateway; the composition root adapts the guard and the store to them");

    @ArchTest
    static final ArchRule theSkillScannerUsesOnlyText = noClasses()
            .that().resideInAPackage("dev.carapace.skill.scan..")
            .should().dependOnClassesThat().resideInAnyPackage("dev.carapace.yaml..", "dev.carapace.fs..",
                    "dev.carapace.model..", "dev.carapace.agent..", "dev.carapace.skill.repo..")
            .because("the scanner judges bytes alone: the repository and the CLI decide what to do with its findings");

    @ArchTest
    static final ArchRule memoryReachesTheStoreAndPrivacyOnlyThroughItsOwnInterfaces = noClasses()
            .that().resideInAPackage("dev.carapace.memory..")
            .should().dependOnClassesThat().resideInAnyPackage("dev.carapace.store..", "dev.carapace.privacy..",
                    "dev.carapace.ledger..", "dev.carapace.guard..", "dev.carapace.gateway..")
            .because("memory asks its own NoteStore and WriteScreen, which server.adapter fits to the store and the "
                    + "privacy router");

    @ArchTest
    static final ArchRule channelsReachTheStorePrivacyAndGuardOnlyThroughTheirOwnInterfaces = noClasses()
            .that().resideInAPackage("dev.carapace.channel..")
            .should().dependOnClassesThat().resideInAnyPackage("dev.carapace.store..", "dev.carapace.privacy..",
                    "dev.carapace.ledger..", "dev.carapace.guard..", "dev.carapace.gateway..", "dev.carapace.schedule..")
            .because("channels ask their own ChannelStore, ChannelPrivacy, ChannelAudit and Voice, which server.adapter "
                    + "fits to the store, the privacy router, the audit log and the gateway; runs start through the agent "
                    + "runtime, so its guard and budgets hold");

    @ArchTest
    static final ArchRule onlyTheFrontDoorKnowsJetty = noClasses()
            .that().resideOutsideOfPackage("dev.carapace.server.http..")
            .should().dependOnClassesThat().resideInAPackage("org.eclipse.jetty..")
            .because("routes see an Exchange; only dev.carapace.server.http knows the HTTP server");

    @ArchTest
    static final ArchRule onlyTheStoreKnowsTheDatabase = noClasses()
            .that().resideOutsideOfPackage("dev.carapace.store..")
            .should().dependOnClassesThat()
            .resideInAnyPackage("java.sql..", "javax.sql..", "org.jdbi..", "com.zaxxer..", "org.flywaydb..",
                    "org.sqlite..", "org.postgresql..", "com.github.kagkarlsson..")
            .because("the store is the one place that talks to a database");

    @ArchTest
    static final ArchRule packagesAreFreeOfCycles = slices().matching("dev.carapace.(*)..").should().beFreeOfCycles();
}
