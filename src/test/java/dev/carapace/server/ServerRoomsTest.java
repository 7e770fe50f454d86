package dev.carapace.server;

import com.tngtech.archunit.core.importer.ImportOption;
import com.tngtech.archunit.junit.AnalyzeClasses;
import com.tngtech.archunit.junit.ArchTest;
import com.tngtech.archunit.lang.ArchRule;

import static com.tngtech.archunit.lang.syntax.ArchRuleDefinition.noClasses;
import static com.tngtech.archunit.library.dependencies.SlicesRuleDefinition.slices;

/**
 * The arrows between the server's rooms (see {@code dev.carapace.server}'s package-info), checked on the compiled
 * main classes: the command line is a leaf, the routes never reach back into the composition root, and the
 * adapters, JSON shapes, logging and the HTTP front door stand on their own.
 */
@AnalyzeClasses(packages = "dev.carapace.server", importOptions = ImportOption.DoNotIncludeTests.class)
class ServerRoomsTest {

    private static final String ROOT = "dev.carapace.server";

    @ArchTest
    static final ArchRule roomsAreFreeOfCycles = slices().matching("dev.carapace.server.(*)..").should().beFreeOfCycles();

    @ArchTest
    static final ArchRule nothingUsesTheCommandLine = noClasses()
            .that().resideOutsideOfPackage("dev.carapace.server.cli..")
            .should().dependOnClassesThat().resideInAPackage("dev.carapace.server.cli..")
            .because("the command line is an entry point: it uses the server, the server never uses it");

    @ArchTest
    static final ArchRule routesDoNotReachBackIntoTheCompositionRoot = noClasses()
            .that().resideInAPackage("dev.carapace.server.api..")
            .should().dependOnClassesThat().resideInAPackage(ROOT)
            .because("the composition root builds the routes and hands them what they need");

    @ArchTest
    static final ArchRule leafRoomsStandOnTheirOwn = noClasses()
            .that().resideInAnyPackage("dev.carapace.server.http..", "dev.carapace.server.adapter..",
                    "dev.carapace.server.json..", "dev.carapace.server.logging..")
            .should().dependOnClassesThat().resideInAnyPackage(ROOT, "dev.carapace.server.api..",
                    "dev.carapace.server.cli..")
            .because("the front door, the adapters, the JSON shapes and logging are parts the rest is built from");

    @ArchTest
    static final ArchRule leafRoomsDoNotUseEachOther = slices().matching("dev.carapace.server.(http|adapter|json|logging)..")
            .should().notDependOnEachOther();
}
