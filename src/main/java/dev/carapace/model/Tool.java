package dev.carapace.model;

import com.fasterxml.jackson.databind.node.ObjectNode;

/** A tool the model may call: a name, a description and a JSON Schema for its arguments. */
public record Tool(String name, String description, ObjectNode parameters) {}
