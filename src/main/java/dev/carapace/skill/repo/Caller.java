package dev.carapace.skill.repo;

/**
 * Who asks the repository: a person's key or the command line.
 *
 * @param name  how decisions name them ({@code alice}, {@code cli:root})
 * @param team  their team, or null (the command line)
 * @param admin whether they are an admin: admins review, and install at any scope
 */
public record Caller(String name, String team, boolean admin) {}
