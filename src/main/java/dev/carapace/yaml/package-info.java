/**
 * The one YAML reader of Carapace's files (the config, agent definitions, guard policies): {@link
 * dev.carapace.yaml.YamlTree} parses a document into nodes that know their line and column, and every problem goes
 * to a {@link dev.carapace.yaml.Problems} as a {@link dev.carapace.yaml.Problem} with its file, position and key path.
 * Each loader reads the tree with its own typed reader and words the parser's problems with its {@link
 * dev.carapace.yaml.Dialect}. This package depends on no other Carapace package, so every loader can use it.
 */
package dev.carapace.yaml;
