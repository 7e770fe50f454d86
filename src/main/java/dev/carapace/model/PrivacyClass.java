package dev.carapace.model;

/** Where a model runs: {@code PRIVATE} inside the org (data may go there), {@code EXTERNAL} at a third party. */
public enum PrivacyClass { PRIVATE, EXTERNAL }
