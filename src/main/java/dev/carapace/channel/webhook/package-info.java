/**
 * The webhook channel: outside systems post messages to an agent ({@code POST /hooks/CHANNEL[/PATH]}) and get its
 * answers POSTed back, both ways signed per Standard Webhooks (https://www.standardwebhooks.com).
 *
 * <ul>
 *   <li>{@link dev.carapace.channel.webhook.WebhookChannel}: the push channel (verify, check, store, answer);</li>
 *   <li>{@link dev.carapace.channel.webhook.StandardWebhooks}: the signature, the same code for both ways;</li>
 *   <li>{@link dev.carapace.channel.webhook.WebhookBody}: what a caller posts, read strictly;</li>
 *   <li>{@link dev.carapace.channel.webhook.WebhookDeliveries}: outbound POSTs, durable in the store
 *       ({@link dev.carapace.channel.webhook.DeliveryQueue}), retried with {@link
 *       dev.carapace.channel.webhook.RetryTiming}, sent through {@link dev.carapace.channel.webhook.WebhookPoster}
 *       (the guard's egress proxy, fitted in {@code server.adapter}). The scheduler delivers jobs' results through
 *       it too, by its own interface fitted in {@code server.adapter}.</li>
 * </ul>
 */
package dev.carapace.channel.webhook;
