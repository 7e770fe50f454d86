package dev.carapace.agent;

/**
 * The network decision at every URL a tool reaches on its own. {@link Guard#decide} judges the URL the model named;
 * a server may answer with a redirect to another, which the tool then asks this gate about before following it, so a
 * rule cannot be walked around by a redirect.
 */
public interface UrlGate {

    /**
     * @param tool the calling tool's name
     * @param url  the absolute URL about to be fetched
     * @return null when allowed, else why not (for the model: names the rule, holds no secret)
     */
    String refusal(String tool, String url);

    /** Without a policy: the tool's own fence (the egress proxy, if any) is all there is. */
    UrlGate ANY = (tool, url) -> null;
}
