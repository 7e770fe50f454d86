package dev.carapace.agent.tools;

import org.junit.jupiter.api.Test;

import java.time.Duration;

import static org.assertj.core.api.Assertions.assertThat;

/** HTML to text: what is dropped, what becomes a line break, entities, malformed markup, cost. */
class HtmlTextTest {

    private static String text(String html) {
        return HtmlText.toText(html);
    }

    @Test
    void dropsNonTextElementsWhateverTheirCase() {
        assertThat(text("a<SCRIPT type=x>if (a<b) document.write('</p>')</Script>b")).isEqualTo("ab");
        assertThat(text("a<style>p{}</style  >b<noscript>enable JS</noscript>c<svg><text>1</text></svg>d"))
                .isEqualTo("abcd");
        assertThat(text("a<script src=x.js/>b")).isEqualTo("ab"); // self-closing: nothing to skip
        assertThat(text("a<!-- <p>hidden</p> -->b<!DOCTYPE html><?xml version='1.0'?>c")).isEqualTo("abc");
        assertThat(text("a<script>never closed <p>x</p>")).isEqualTo("a");
        assertThat(text("a<scripts>b</scripts>")).isEqualTo("ab"); // not <script>
    }

    @Test
    void blocksBecomeLinesAndParagraphs() {
        assertThat(text("<div>one</div><div>two</div>three<br>four<br/>five")).isEqualTo("one\ntwo\nthree\nfour\nfive");
        assertThat(text("<p>one</p><p>two</p>")).isEqualTo("one\n\ntwo");
        assertThat(text("<h2>Title</h2><p>x</p><hr><h6>small</h6>")).isEqualTo("## Title\n\nx\n\n---\n\n###### small");
        assertThat(text("<ol><li>a<li>b</ol>after")).isEqualTo("- a\n- b\n\nafter");
        assertThat(text("<table><tr><th>k</th><th>v</th></tr><tr><td>1</td><td>2</td></tr></table>"))
                .isEqualTo("k v\n1 2");
        assertThat(text("<div><div><p>deep</p></div></div>")).isEqualTo("deep");
    }

    @Test
    void collapsesWhitespaceExceptInPre() {
        assertThat(text("  a \n\t b  <span> c </span>  ")).isEqualTo("a b c");
        assertThat(text("x<pre>  a\n\n\n   b  </pre>y")).isEqualTo("x\n\n  a\n\n\n   b\n\ny");
        assertThat(text("a&nbsp;&nbsp;b")).isEqualTo("a b");
    }

    @Test
    void decodesEntitiesOnce() {
        assertThat(text("&lt;p&gt; &amp;amp; &quot;q&quot; &#39;s&#x27; &euro;&copy; &#x1f600;"))
                .isEqualTo("<p> &amp; \"q\" 's' €© 😀");
        assertThat(text("AT&T &unknown; & &#xZZ; &#0; &#99999999;")).isEqualTo("AT&T &unknown; & &#xZZ; \uFFFD &#99999999;");
    }

    @Test
    void toleratesMalformedMarkup() {
        assertThat(text("a < b and c<3")).isEqualTo("a < b and c<3");
        assertThat(text("<a href=\"x>y\" title='>'>link</a> text")).isEqualTo("link text");
        assertThat(text("<p>unclosed <b>bold")).isEqualTo("unclosed bold");
        assertThat(text("end <a href=\"never closed")).isEqualTo("end");
        assertThat(text("<![CDATA[x < y]]>z")).isEqualTo("x < yz");
        assertThat(text("")).isEmpty();
    }

    @Test
    void isLinearOnLargeAndHostileInput() {
        // Quadratic behaviour would take minutes on these; linear takes milliseconds.
        String[] inputs = {"<p>x</p>".repeat(300_000), "&".repeat(2_000_000), "<".repeat(2_000_000),
                "</".repeat(1_000_000), "<script>" + "</scrip".repeat(300_000), "<!--".repeat(500_000),
                "<a b='".repeat(400_000)};
        for (String html : inputs) {
            long start = System.nanoTime();
            text(html);
            assertThat(Duration.ofNanos(System.nanoTime() - start)).as(html.substring(0, 10)).isLessThan(Duration.ofSeconds(5));
        }
    }
}
