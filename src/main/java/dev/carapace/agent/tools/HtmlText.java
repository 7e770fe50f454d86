package dev.carapace.agent.tools;

import java.util.Locale;
import java.util.Map;
import java.util.Set;

/**
 * HTML to readable text, cheaply: one linear pass, no DOM, no dependency. Drops comments, scripts, styles and other
 * non-text elements and every tag; block elements become line breaks, list items "- ", headings "#"; entities are
 * decoded; whitespace is collapsed except inside {@code <pre>}. Links, images and tables lose their structure: the
 * point is the words a model can read at a fraction of the tokens, not a faithful rendering.
 */
final class HtmlText {

    private HtmlText() {}

    /** Elements whose content is not text for a reader. */
    private static final Set<String> SKIPPED = Set.of("script", "style", "noscript", "template", "svg", "math",
            "iframe", "object", "canvas");
    /** Elements that start a new paragraph (a blank line). */
    private static final Set<String> PARAGRAPHS = Set.of("p", "pre", "blockquote", "table", "ul", "ol", "dl", "hr",
            "section", "article", "header", "footer", "main", "nav", "aside", "figure", "form", "details",
            "h1", "h2", "h3", "h4", "h5", "h6");
    /** Elements that start a new line. */
    private static final Set<String> LINES = Set.of("br", "div", "li", "tr", "dt", "dd", "title", "option",
            "caption", "summary", "figcaption", "fieldset", "address", "body", "html", "legend", "label");
    private static final Set<String> CELLS = Set.of("td", "th");

    private static final Map<String, String> ENTITIES = Map.ofEntries(
            Map.entry("amp", "&"), Map.entry("lt", "<"), Map.entry("gt", ">"), Map.entry("quot", "\""),
            Map.entry("apos", "'"), Map.entry("nbsp", " "), Map.entry("ensp", " "), Map.entry("emsp", " "),
            Map.entry("thinsp", " "), Map.entry("ndash", "\u2013"), Map.entry("mdash", "\u2014"),
            Map.entry("hellip", "\u2026"), Map.entry("lsquo", "\u2018"), Map.entry("rsquo", "\u2019"),
            Map.entry("sbquo", "\u201a"), Map.entry("ldquo", "\u201c"), Map.entry("rdquo", "\u201d"),
            Map.entry("bdquo", "\u201e"), Map.entry("laquo", "\u00ab"), Map.entry("raquo", "\u00bb"),
            Map.entry("lsaquo", "\u2039"), Map.entry("rsaquo", "\u203a"), Map.entry("bull", "\u2022"),
            Map.entry("middot", "\u00b7"), Map.entry("copy", "\u00a9"), Map.entry("reg", "\u00ae"),
            Map.entry("trade", "\u2122"), Map.entry("euro", "\u20ac"), Map.entry("pound", "\u00a3"),
            Map.entry("yen", "\u00a5"), Map.entry("cent", "\u00a2"), Map.entry("sect", "\u00a7"),
            Map.entry("para", "\u00b6"), Map.entry("deg", "\u00b0"), Map.entry("plusmn", "\u00b1"),
            Map.entry("times", "\u00d7"), Map.entry("divide", "\u00f7"), Map.entry("frac12", "\u00bd"),
            Map.entry("frac14", "\u00bc"), Map.entry("frac34", "\u00be"), Map.entry("micro", "\u00b5"),
            Map.entry("larr", "\u2190"), Map.entry("rarr", "\u2192"), Map.entry("uarr", "\u2191"),
            Map.entry("darr", "\u2193"), Map.entry("harr", "\u2194"), Map.entry("le", "\u2264"),
            Map.entry("ge", "\u2265"), Map.entry("ne", "\u2260"), Map.entry("asymp", "\u2248"),
            Map.entry("infin", "\u221e"), Map.entry("check", "\u2713"), Map.entry("shy", ""),
            Map.entry("zwj", ""), Map.entry("zwnj", ""), Map.entry("lrm", ""), Map.entry("rlm", ""),
            Map.entry("iexcl", "\u00a1"), Map.entry("iquest", "\u00bf"), Map.entry("dagger", "\u2020"),
            Map.entry("auml", "\u00e4"), Map.entry("ouml", "\u00f6"), Map.entry("uuml", "\u00fc"),
            Map.entry("Auml", "\u00c4"), Map.entry("Ouml", "\u00d6"), Map.entry("Uuml", "\u00dc"),
            Map.entry("szlig", "\u00df"), Map.entry("eacute", "\u00e9"), Map.entry("egrave", "\u00e8"),
            Map.entry("ecirc", "\u00ea"), Map.entry("aacute", "\u00e1"), Map.entry("agrave", "\u00e0"),
            Map.entry("acirc", "\u00e2"), Map.entry("ccedil", "\u00e7"), Map.entry("ntilde", "\u00f1"),
            Map.entry("oacute", "\u00f3"), Map.entry("iacute", "\u00ed"), Map.entry("uacute", "\u00fa"),
            Map.entry("Eacute", "\u00c9"));

    /** The readable text of an HTML document or fragment. */
    static String toText(String html) {
        Writer out = new Writer(html.length());
        int n = html.length();
        int i = 0;
        while (i < n) {
            char c = html.charAt(i);
            if (c == '<') {
                i = tag(html, i, out);
            } else if (c == '&') {
                i = entity(html, i, out);
            } else {
                out.text(c);
                i++;
            }
        }
        return out.finish();
    }

    /** Handles the markup at {@code i} (a '<'); returns the index after it. */
    private static int tag(String html, int i, Writer out) {
        int n = html.length();
        if (html.startsWith("<!--", i)) {
            int end = html.indexOf("-->", i + 4);
            return end < 0 ? n : end + 3;
        }
        if (html.startsWith("<![CDATA[", i)) {
            int end = html.indexOf("]]>", i + 9);
            int stop = end < 0 ? n : end;
            for (int k = i + 9; k < stop; k++) out.text(html.charAt(k));
            return end < 0 ? n : end + 3;
        }
        int j = i + 1;
        boolean closing = j < n && html.charAt(j) == '/';
        if (closing) j++;
        if (j < n && (html.charAt(j) == '!' || html.charAt(j) == '?')) return skipTag(html, j); // doctype, PI
        if (j >= n || !isAsciiLetter(html.charAt(j))) {
            out.text('<'); // "a < b", "<3": not markup
            return i + 1;
        }
        int nameStart = j;
        while (j < n && isNameChar(html.charAt(j))) j++;
        String name = html.substring(nameStart, j).toLowerCase(Locale.ROOT);
        int end = skipTag(html, j);
        boolean selfClosing = end >= 2 && end <= n && html.charAt(end - 1) == '>' && html.charAt(end - 2) == '/';
        if (!closing && !selfClosing && SKIPPED.contains(name)) return skipElement(html, end, name);
        if (name.equals("pre")) out.pre(!closing);
        if (PARAGRAPHS.contains(name)) {
            out.breakLines(2);
            if (!closing && name.length() == 2 && name.charAt(0) == 'h' && Character.isDigit(name.charAt(1))) {
                out.raw("#".repeat(name.charAt(1) - '0') + " ");
            }
            if (!closing && name.equals("hr")) {
                out.raw("---");
                out.breakLines(2);
            }
        } else if (LINES.contains(name)) {
            out.breakLines(1);
            if (!closing && name.equals("li")) out.raw("- ");
        } else if (CELLS.contains(name) && !closing) {
            out.text(' ');
        }
        return end;
    }

    /** The index after the '>' that ends the tag whose body starts at {@code j}, respecting quoted values. */
    private static int skipTag(String html, int j) {
        int n = html.length();
        char quote = 0;
        for (; j < n; j++) {
            char c = html.charAt(j);
            if (quote != 0) {
                if (c == quote) quote = 0;
            } else if (c == '"' || c == '\'') {
                quote = c;
            } else if (c == '>') {
                return j + 1;
            }
        }
        return n;
    }

    /** The index after {@code </name ...>}, searching from {@code from}, or the end if it never closes. */
    private static int skipElement(String html, int from, String name) {
        int n = html.length();
        for (int k = html.indexOf("</", from); k >= 0; k = html.indexOf("</", k + 2)) {
            int after = k + 2 + name.length();
            if (html.regionMatches(true, k + 2, name, 0, name.length())
                    && (after >= n || !isNameChar(html.charAt(after)))) {
                return skipTag(html, after);
            }
        }
        return n;
    }

    /** Decodes the entity at {@code i} (a '&'), or emits a literal '&'; returns the index after it. */
    private static int entity(String html, int i, Writer out) {
        int n = html.length();
        int semi = -1;
        for (int k = i + 1; k < n && k <= i + 33; k++) {
            char c = html.charAt(k);
            if (c == ';') {
                semi = k;
                break;
            }
            if (!Character.isLetterOrDigit(c) && c != '#') break;
        }
        if (semi > i + 1) {
            String ref = html.substring(i + 1, semi);
            String decoded = null;
            if (ref.charAt(0) == '#') decoded = numeric(ref);
            else decoded = ENTITIES.get(ref);
            if (decoded != null) {
                for (int k = 0; k < decoded.length(); k++) out.text(decoded.charAt(k));
                return semi + 1;
            }
        }
        out.text('&');
        return i + 1;
    }

    private static String numeric(String ref) {
        try {
            boolean hex = ref.length() > 1 && (ref.charAt(1) == 'x' || ref.charAt(1) == 'X');
            String digits = ref.substring(hex ? 2 : 1);
            if (digits.isEmpty() || digits.length() > 7) return null;
            int cp = Integer.parseInt(digits, hex ? 16 : 10);
            if (cp == 0 || cp > Character.MAX_CODE_POINT || (cp >= 0xD800 && cp <= 0xDFFF)) return "\uFFFD";
            if (cp == 0xA0) return " ";
            return new String(Character.toChars(cp));
        } catch (NumberFormatException e) {
            return null;
        }
    }

    private static boolean isAsciiLetter(char c) {
        return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z');
    }

    private static boolean isNameChar(char c) {
        return isAsciiLetter(c) || (c >= '0' && c <= '9') || c == '-' || c == ':' || c == '_';
    }

    /** Collapses whitespace as it goes: never a space at a line start or end, never more than one blank line. */
    private static final class Writer {
        private final StringBuilder b;
        private int preDepth;
        private boolean pendingSpace;

        Writer(int capacity) {
            b = new StringBuilder(Math.min(capacity, 1 << 20));
        }

        void pre(boolean open) {
            preDepth = open ? preDepth + 1 : Math.max(0, preDepth - 1);
        }

        void text(char c) {
            if (preDepth > 0) {
                flushSpace();
                b.append(c == '\u00a0' ? ' ' : c);
                return;
            }
            if (c == ' ' || c == '\n' || c == '\t' || c == '\r' || c == '\f' || c == '\u00a0') {
                if (b.length() > 0 && b.charAt(b.length() - 1) != '\n') pendingSpace = true;
                return;
            }
            if (c < 0x20 || c == 0x7f) return;
            flushSpace();
            b.append(c);
        }

        /** Text that must appear as is (a list marker, a heading's #), whitespace and all. */
        void raw(String s) {
            flushSpace();
            b.append(s);
        }

        private void flushSpace() {
            if (pendingSpace) {
                if (b.length() > 0 && b.charAt(b.length() - 1) != '\n') b.append(' ');
                pendingSpace = false;
            }
        }

        /** Ends the current line and makes sure {@code count} line breaks (1 or 2) precede what comes next. */
        void breakLines(int count) {
            pendingSpace = false;
            int end = b.length();
            while (end > 0 && b.charAt(end - 1) == ' ') end--;
            b.setLength(end);
            if (end == 0) return;
            int have = 0;
            while (have < end && b.charAt(end - 1 - have) == '\n') have++;
            for (int k = have; k < count; k++) b.append('\n');
        }

        String finish() {
            int end = b.length();
            while (end > 0 && Character.isWhitespace(b.charAt(end - 1))) end--;
            b.setLength(end);
            // Inside <pre> whitespace was kept, so blank runs can still be long there; that is what the page shows.
            return b.toString();
        }
    }
}
