package dev.carapace.guard.sandbox;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.nio.file.Files;
import java.nio.file.Path;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

/** {@code tools.sandbox_user}: a name looked up in passwd, or UID:GID; never root. */
class SandboxUserTest {

    @TempDir
    Path dir;

    @Test
    void namesAreLookedUpAndRootIsRefusedEveryWay() throws Exception {
        Path passwd = Files.writeString(dir.resolve("passwd"), """
                root:x:0:0:root:/root:/bin/bash
                toor:x:0:1000::/:/bin/sh
                sbx:x:1500:1600::/nonexistent:/usr/sbin/nologin
                """);
        assertThat(SandboxUser.resolve("sbx", passwd)).isEqualTo(new SandboxUser(1500, 1600));
        assertThat(SandboxUser.resolve("2000:2001", passwd)).isEqualTo(new SandboxUser(2000, 2001));
        // nobody is the default, and is 65534:65534 where passwd does not list it
        assertThat(SandboxUser.resolve("nobody", passwd)).isEqualTo(SandboxUser.NOBODY);
        assertThatThrownBy(() -> SandboxUser.resolve("toor", passwd)).isInstanceOf(SandboxUnavailableException.class)
                .hasMessageContaining("'toor' is uid 0").hasMessageContaining("must not be root");
        assertThatThrownBy(() -> SandboxUser.resolve("root", passwd)).hasMessageContaining("must not be root");
        assertThatThrownBy(() -> SandboxUser.resolve("0:5", passwd)).hasMessageContaining("must not be root");
        assertThatThrownBy(() -> SandboxUser.resolve("ghost", passwd)).isInstanceOf(SandboxUnavailableException.class)
                .hasMessageContaining("'ghost' is not a user in " + passwd).hasMessageContaining("useradd");
        assertThatThrownBy(() -> new SandboxUser(0, 65534)).isInstanceOf(IllegalArgumentException.class);
    }
}
