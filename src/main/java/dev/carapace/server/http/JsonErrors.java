package dev.carapace.server.http;

import org.eclipse.jetty.http.HttpFields;
import org.eclipse.jetty.http.HttpHeader;
import org.eclipse.jetty.http.HttpStatus;
import org.eclipse.jetty.io.EofException;
import org.eclipse.jetty.server.Request;
import org.eclipse.jetty.server.Response;
import org.eclipse.jetty.server.handler.ErrorHandler;
import org.eclipse.jetty.util.Callback;

import java.nio.ByteBuffer;

/**
 * Jetty's answers to requests that never reached a route, as API-shaped JSON instead of an HTML page, each closing
 * its connection. A request the parser refused (bad framing, a head too large) gets a request object with its
 * request line only, if even that could be read.
 */
final class JsonErrors extends ErrorHandler {
    private final ErrorWriter errors;

    JsonErrors(ErrorWriter errors) {
        this.errors = errors;
    }

    /** A request the parser refused, before there is any request object: only the status and reason are known. */
    @Override
    public ByteBuffer badMessageError(int status, String reason, HttpFields.Mutable fields) {
        fields.put(HttpHeader.CONTENT_TYPE, "application/json");
        return ByteBuffer.wrap(errors.page().render(status, describe(status, reason), null, name -> null));
    }

    @Override
    public boolean handle(Request request, Response response, Callback callback) {
        Object status = request.getAttribute(ERROR_STATUS);
        Object message = request.getAttribute(ERROR_MESSAGE);
        int code = status instanceof Integer i ? i : response.getStatus();
        String reason = message == null ? null : message.toString();
        if (generic(code, reason) && request.getAttribute(ERROR_EXCEPTION) instanceof Throwable t) reason = detail(t);
        if (code == HttpStatus.UPGRADE_REQUIRED_426) {
            // Jetty's answer to an HTTP/2.0 request line (or the h2c preface) on a connector without h2c. No
            // upgrade would help, as this server speaks only HTTP/1.x, and a 426 must name one (RFC 9110
            // 15.5.22): the version is what is not supported.
            code = HttpStatus.HTTP_VERSION_NOT_SUPPORTED_505;
            reason = "HTTP/2 is not served on this port";
        }
        var endPoint = request.getConnectionMetaData().getConnection().getEndPoint();
        if (!endPoint.isOpen() || connectionGone(request.getAttribute(ERROR_EXCEPTION))) {
            // The connection is gone (closed by ConnectionWatch for a head that took too long, or by the client)
            // and Jetty reports the request it was reading as failed: nobody is there to read an answer, and the
            // close already has its access line. One more here would log a 500 no client ever saw.
            errors.respond(request, response, callback, code, describe(code, reason), true);
        } else if (code == HttpStatus.BAD_REQUEST_400 && endPoint.isInputShutdown()) {
            // The client closed its side (Jetty: "Early EOF") before the request's head was complete. The 400
            // still goes out (a client that only half-closed can read it), but this is a hang-up, not a request:
            // ConnectionWatch logs it once, as such, when the connection closes, which may come before or after
            // this.
            errors.respond(request, response, callback, code, describe(code, reason), true);
        } else {
            // Always closed: Jetty refused this request before any route saw it, so its framing was never held to
            // Carapace's rules (Dispatch's), and whatever follows on the connection may be its body read as a
            // request. An HTTP/1.0 request with Transfer-Encoding and a bad URI was answered 400 keep-alive here,
            // its chunked body skipped, and the request after it run (a key created).
            errors.write(request, response, callback, code, describe(code, reason), true);
        }
        return true;
    }

    /** Whether a failure is Jetty's word for a connection that closed under it. */
    private static boolean connectionGone(Object failure) {
        for (Throwable t = failure instanceof Throwable f ? f : null; t != null && t != t.getCause(); t = t.getCause()) {
            if (t instanceof EofException) return true;
        }
        return false;
    }

    private static boolean generic(int status, String reason) {
        // Jetty gives some of its refusals (414, 431) the reason "null", spelled out
        return reason == null || reason.isBlank() || reason.equals("null") || reason.equals(HttpStatus.getMessage(status))
                || reason.equals(status + ": " + HttpStatus.getMessage(status));
    }

    /**
     * What Jetty's exception says went wrong (e.g. "Bad URI"), without its status prefix or class name, and only when
     * it is a short phrase: the innermost cause that has a message.
     */
    private static String detail(Throwable t) {
        String found = null;
        for (Throwable c = t; c != null && c != c.getCause(); c = c.getCause()) {
            if (c.getMessage() != null && !c.getMessage().isBlank()) found = c.getMessage();
        }
        if (found == null) return null;
        found = found.replaceFirst("^\\d{3}: ", "").strip();
        // Jetty's word for a '%' not followed by two hex digits
        if (found.startsWith("!hex")) return "a '%' in the URI must be followed by two hex digits";
        return found.length() > 120 || found.contains("Exception") || found.contains("org.") ? null : found;
    }

    private static String describe(int status, String reason) {
        String what = switch (status) {
            case 400 -> "The request is not valid HTTP/1.1";
            case 408 -> "The request did not arrive in time";
            case 413 -> "The request is too large";
            case 414 -> "The request's URI is too long";
            case 431 -> "The request's headers are too large";
            case 505 -> "Unsupported HTTP version; use HTTP/1.1 or HTTP/1.0";
            default -> HttpStatus.getMessage(status);
        };
        return generic(status, reason) ? what + "." : what + ": " + reason + ".";
    }
}
