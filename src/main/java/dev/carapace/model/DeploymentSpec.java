package dev.carapace.model;

/** One place a model runs: a provider and the model's name there. */
public record DeploymentSpec(String provider, String upstreamModel) {}
