/**
 * Logging set-up: logback configured as {@code serve} needs it, plain or JSON ({@code Logging}), a console appender
 * that batches writes off the request threads ({@code BatchingConsoleAppender}), and what keeps a client's bytes
 * from forging log lines or their fields ({@code EscapedMessageConverter}, {@code LogFields}).
 */
package dev.carapace.server.logging;
