package dev.carapace.guard.egress;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Map;
import java.util.concurrent.atomic.AtomicInteger;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

class SecretStoreTest {

    @Test
    void readsLazilyFromEnvAndFilesAndNeverShowsValues(@TempDir Path dir) throws Exception {
        Path file = dir.resolve("token");
        Files.writeString(file, "from-file-value\n");
        AtomicInteger envReads = new AtomicInteger();
        SecretStore store = SecretStore.of(Map.of("A", "env:A_VAR", "B", "file:" + file),
                name -> {
                    envReads.incrementAndGet();
                    return name.equals("A_VAR") ? "from-env-value" : null;
                });
        assertThat(envReads).hasValue(0); // nothing read until a request needs it
        assertThat(store.value("A")).isEqualTo("from-env-value");
        assertThat(store.value("B")).isEqualTo("from-file-value");
        Files.writeString(file, "rotated");
        assertThat(store.value("B")).isEqualTo("rotated");
        assertThat(store.toString()).contains("A", "B").doesNotContain("from-env-value", "rotated", "A_VAR");
    }

    @Test
    void failuresNameTheSecretNotTheValue(@TempDir Path dir) {
        SecretStore store = SecretStore.of(Map.of("A", "env:NOT_SET", "B", "file:" + dir.resolve("missing")), n -> null);
        assertThatThrownBy(() -> store.value("A")).hasMessage("secret 'A': environment variable NOT_SET is not set");
        assertThatThrownBy(() -> store.value("B")).hasMessageContaining("secret 'B': file").hasMessageContaining("cannot be read");
        assertThatThrownBy(() -> store.value("C")).hasMessageContaining("not in the secret store");
    }

    @Test
    void referencesAreCheckedUpFront() {
        assertThat(SecretStore.problem("GH", "ghp_literal")).contains("must be a reference").doesNotContain("ghp_literal");
        assertThat(SecretStore.problem("GH", "file:relative/path")).contains("absolute path");
        assertThat(SecretStore.problem("GH", "env:1BAD")).contains("environment variable name");
        assertThat(SecretStore.problem("bad name", "env:X")).contains("secret name");
        assertThat(SecretStore.problem("GH", "env:GH_TOKEN")).isNull();
        assertThatThrownBy(() -> SecretStore.of(Map.of("GH", "plain"), n -> null)).isInstanceOf(IllegalArgumentException.class);
    }
}
