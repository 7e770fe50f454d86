package dev.carapace.yaml;

import java.util.function.BinaryOperator;

/**
 * How one kind of file words the problems {@link YamlTree#parse} finds and writes key paths. The config and the
 * policy files had readers of their own before they shared this one; their messages, which users and tests rely on,
 * differ in these places, and each loader keeps its own.
 *
 * @param keyNoun        what a mapping key is called: {@code duplicate key 'port'} or {@code duplicate field 'port'}
 * @param oneDocument    said after "a second YAML document starts here; ", e.g. {@code the config is one document}
 * @param aliasProblem   the message for an alias ({@code *name}), with {@code %s} for its name if wanted
 * @param refuseUntyped  whether a value YAML gives no plain type (a {@code !!binary} scalar) is an error; if not, it
 *                       reads as an untyped scalar with its text
 * @param explainSyntax  whether syntax errors are made plainer: the context's column, "tab" for a tab, and a sentence
 *                       for a mapping key that is a list or a mapping
 * @param keyPath        builds the path of a key under its parent, for messages
 */
public record Dialect(String keyNoun, String oneDocument, String aliasProblem, boolean refuseUntyped,
                      boolean explainSyntax, BinaryOperator<String> keyPath) {}
