/**
 * Logging set-up: logback configured as {@code serve} needs it, plain or JSON ({@code Logging}), a console appender
 * that batches writes off the request threads ({@code BatchingConsoleAppender}), and the converter that keeps a
 * client's bytes from forging log lines ({@code EscapedMessageConverter}).
 */
package dev.carapace.server.logging;
