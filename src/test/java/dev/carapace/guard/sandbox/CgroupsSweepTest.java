package dev.carapace.guard.sandbox;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;

import static org.assertj.core.api.Assertions.assertThat;

/** The start-up sweep of cgroups left behind, on plain directories standing in for a cgroup hierarchy. */
class CgroupsSweepTest {

    @TempDir
    Path parent;

    /**
     * Two gateways (or two test JVMs) on one host: the second one's start-up sweep removed the first one's cgroup
     * between its creation and its command joining it, and that command failed with "cgroup.procs: Directory
     * nonexistent".
     */
    @Test
    void aStartingGatewayLeavesALiveGatewaysEmptyCgroupsInPlace() throws Exception {
        long live = ProcessHandle.current().pid();
        long dead = exitedPid();
        Path liveSlot = Files.createDirectory(parent.resolve(Cgroups.PREFIX + live + "-7"));
        Path liveProbe = Files.createDirectory(parent.resolve(Cgroups.PREFIX + "probe-" + live));
        Path deadSlot = Files.createDirectory(parent.resolve(Cgroups.PREFIX + dead + "-1"));
        Path deadProbe = Files.createDirectory(parent.resolve(Cgroups.PREFIX + "probe-" + dead));
        Path deadInUse = Files.createDirectory(parent.resolve(Cgroups.PREFIX + dead + "-2"));
        Files.createFile(deadInUse.resolve("cgroup.procs"));   // rmdir of a cgroup with processes fails: so here
        Path foreign = Files.createDirectory(parent.resolve(Cgroups.PREFIX + "someone-else"));
        Path unrelated = Files.createDirectory(parent.resolve("other-" + dead + "-1"));

        Cgroups.sweep(List.of(parent));

        assertThat(liveSlot).as("the running gateway's slot, not yet joined").isDirectory();
        assertThat(liveProbe).isDirectory();
        assertThat(deadSlot).as("left by a gateway that died").doesNotExist();
        assertThat(deadProbe).doesNotExist();
        assertThat(deadInUse).as("not empty: still holds processes").isDirectory();
        assertThat(foreign).as("not named as Carapace names its cgroups").isDirectory();
        assertThat(unrelated).isDirectory();
    }

    private static long exitedPid() throws Exception {
        Process p = new ProcessBuilder("true").start();
        p.waitFor();
        return p.pid();
    }
}
