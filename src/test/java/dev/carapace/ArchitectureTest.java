package dev.carapace;

import com.tngtech.archunit.core.importer.ImportOption;
import com.tngtech.archunit.junit.AnalyzeClasses;
import com.tngtech.archunit.junit.ArchTest;
import com.tngtech.archunit.lang.ArchRule;

import static com.tngtech.archunit.base.DescribedPredicate.not;
import static com.tngtech.archunit.core.domain.JavaClass.Predicates.resideInAPackage;
import static com.tngtech.archunit.lang.syntax.ArchRuleDefinition.noClasses;
import static com.tngtech.archunit.library.dependencies.SlicesRuleDefinition.slices;

/**
 * The package rules of the design, checked on the compiled main classes. A rule about a package that does not exist
 * yet (ledger, privacy, guard, agent) holds vacuously until it does; every other rule fails if its subject is empty.
 */
@AnalyzeClasses(packages = "dev.carapace", importOptions = ImportOption.DoNotIncludeTests.class)
class ArchitectureTest {

    @ArchTest
    static final ArchRule modelKnowsNothingOfAgents = noClasses()
            .that().resideInAPackage("dev.carapace.model..")
            .should().dependOnClassesThat().resideInAPackage("dev.carapace.agent..")
            .because("agents are built on the model layer, never the other way round");

    @ArchTest
    static final ArchRule pipelineFiltersKnowNothingOfAgents = noClasses()
            .that().resideInAnyPackage("dev.carapace.ledger..", "dev.carapace.privacy..", "dev.carapace.guard..")
            .should().dependOnClassesThat().resideInAPackage("dev.carapace.agent..")
            .because("budgets, privacy routing and guards apply to every call, whoever makes it")
            .allowEmptyShould(true);

    @ArchTest
    static final ArchRule agentReachesThePipelineOnlyThroughItsOwnInterfaces = noClasses()
            .that().resideInAPackage("dev.carapace.agent..")
            .should().dependOnClassesThat().resideInAnyPackage("dev.carapace.ledger..", "dev.carapace.privacy..",
                    "dev.carapace.guard..")
            .because("the agent runtime asks its own Guard, FileGate, UrlGate, Approvals and SpawnAudit, and calls "
                    + "models through the gateway; the composition root adapts the guard to them");

    @ArchTest
    static final ArchRule agentKeepsSessionsThroughItsOwnStoreInterface = noClasses()
            .that().resideInAPackage("dev.carapace.agent..")
            .should().dependOnClassesThat().resideInAPackage("dev.carapace.store..")
            .because("the runtime keeps sessions, runs and transcripts through its SessionStore, in its own records; "
                    + "the composition root adapts the store's rows to it");

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
                    "org.sqlite..", "org.postgresql..")
            .because("the store is the one place that talks to a database");

    @ArchTest
    static final ArchRule modelIsTheBottomLayer = noClasses()
            .that().resideInAPackage("dev.carapace.model..")
            .should().dependOnClassesThat().resideInAnyPackage("dev.carapace.gateway..", "dev.carapace.identity..",
                    "dev.carapace.server..", "dev.carapace.store..", "dev.carapace.config..");

    @ArchTest
    static final ArchRule storeStandsAlone = noClasses()
            .that().resideInAPackage("dev.carapace.store..")
            .should().dependOnClassesThat(resideInAPackage("dev.carapace..").and(not(resideInAPackage("dev.carapace.store.."))))
            .because("the store only persists plain records");

    @ArchTest
    static final ArchRule theYamlReaderStandsAlone = noClasses()
            .that().resideInAPackage("dev.carapace.yaml..")
            .should().dependOnClassesThat(resideInAPackage("dev.carapace..").and(not(resideInAPackage("dev.carapace.yaml.."))))
            .because("the config, policy, skill and job loaders all read their files with it");

    @ArchTest
    static final ArchRule nothingDependsOnTheServer = noClasses()
            .that().resideOutsideOfPackage("dev.carapace.server..")
            .should().dependOnClassesThat().resideInAPackage("dev.carapace.server..")
            .because("the server is the composition root and the top of the graph");

    @ArchTest
    static final ArchRule packagesAreFreeOfCycles = slices().matching("dev.carapace.(*)..").should().beFreeOfCycles();
}
