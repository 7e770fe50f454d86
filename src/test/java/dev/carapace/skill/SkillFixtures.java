package dev.carapace.skill;

import java.io.IOException;
import java.net.URISyntaxException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.stream.Stream;

/** The 52 OpenClaw skills copied from OpenClaw's repository (MIT, see their LICENSE) into the test resources. */
final class SkillFixtures {

    private SkillFixtures() {}

    static Path dir() {
        try {
            return Path.of(SkillFixtures.class.getResource("/openclaw-skills/LICENSE").toURI()).getParent();
        } catch (URISyntaxException e) {
            throw new IllegalStateException(e);
        }
    }

    static List<Path> folders() throws IOException {
        try (Stream<Path> s = Files.list(dir())) {
            return s.filter(Files::isDirectory).sorted().toList();
        }
    }

    static String text(String skill) throws IOException {
        return Files.readString(dir().resolve(skill).resolve("SKILL.md"));
    }
}
