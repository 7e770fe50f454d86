package dev.carapace.channel.email;

import org.jsoup.Jsoup;
import org.jsoup.nodes.Document;
import org.jsoup.nodes.Element;
import org.jsoup.nodes.Node;
import org.jsoup.nodes.TextNode;
import org.jsoup.select.NodeTraversor;
import org.jsoup.select.NodeVisitor;

import java.util.Set;

/**
 * An HTML mail as the text a person would read: scripts, styles and the head dropped, blocks on lines of their own,
 * list items bulleted, a link's address kept after its words when they differ, nothing run or fetched (jsoup only
 * parses).
 */
final class HtmlText {

    private static final Set<String> BLOCKS = Set.of("p", "div", "br", "tr", "li", "ul", "ol", "table", "blockquote",
            "h1", "h2", "h3", "h4", "h5", "h6", "pre", "hr", "section", "article", "header", "footer", "dt", "dd");

    private HtmlText() {}

    static String of(String html) {
        Document doc = Jsoup.parse(html);
        doc.select("script, style, head, noscript, template, svg, object, iframe").remove();
        StringBuilder sb = new StringBuilder();
        NodeTraversor.traverse(new NodeVisitor() {
            @Override
            public void head(Node node, int depth) {
                if (node instanceof TextNode t) {
                    append(sb, t.text());
                } else if (node instanceof Element e) {
                    String tag = e.normalName();
                    if (BLOCKS.contains(tag)) newline(sb);
                    if (tag.equals("li")) sb.append("- ");
                }
            }

            @Override
            public void tail(Node node, int depth) {
                if (node instanceof Element e) {
                    String tag = e.normalName();
                    if (tag.equals("a")) {
                        String href = e.attr("href").strip();
                        if (!href.isEmpty() && !href.startsWith("#") && !e.text().strip().equals(href)
                                && !href.equals("mailto:" + e.text().strip())) {
                            append(sb, " (" + href + ")");
                        }
                    } else if (tag.equals("img") && !e.attr("alt").isBlank()) {
                        append(sb, "[" + e.attr("alt").strip() + "]");
                    }
                    if (BLOCKS.contains(tag)) newline(sb);
                }
            }
        }, doc.body() == null ? doc : doc.body());
        return sb.toString().replaceAll("[ \\t]+\\n", "\n").replaceAll("\\n{3,}", "\n\n").strip();
    }

    private static void append(StringBuilder sb, String text) {
        if (text.isEmpty()) return;
        if (text.isBlank()) {
            if (!sb.isEmpty() && sb.charAt(sb.length() - 1) != ' ' && sb.charAt(sb.length() - 1) != '\n') sb.append(' ');
            return;
        }
        sb.append(text);
    }

    private static void newline(StringBuilder sb) {
        if (!sb.isEmpty() && sb.charAt(sb.length() - 1) != '\n') sb.append('\n');
    }
}
