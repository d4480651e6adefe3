import java.io.UnsupportedEncodingException;
import java.net.URLDecoder;
import java.net.URLEncoder;
import java.nio.charset.StandardCharsets;
import java.util.Base64;
import org.apache.commons.lang.StringEscapeUtils;

/**
 * {@code $util} as API Gateway documents it, each function the Java library call its
 * documentation describes: commons-lang 2 {@code StringEscapeUtils.escapeJavaScript},
 * {@code java.net.URLEncoder}/{@code URLDecoder} with UTF-8, {@code java.util.Base64} over UTF-8
 * bytes, and the same JSON parser {@code $input.path} uses.
 */
public class ApiGatewayUtil {
    /** Escapes a string with JavaScript string rules. */
    public String escapeJavaScript(String s) {
        return StringEscapeUtils.escapeJavaScript(s);
    }

    /** Parses JSON text into maps, lists and scalars. */
    public Object parseJson(String s) {
        return Json.parse(s);
    }

    /** application/x-www-form-urlencoded encoding of the UTF-8 bytes. */
    public String urlEncode(String s) throws UnsupportedEncodingException {
        return URLEncoder.encode(s, "UTF-8");
    }

    /** application/x-www-form-urlencoded decoding into UTF-8 text. */
    public String urlDecode(String s) throws UnsupportedEncodingException {
        return URLDecoder.decode(s, "UTF-8");
    }

    /** Base64 (standard alphabet, padded) of the UTF-8 bytes. */
    public String base64Encode(String s) {
        return Base64.getEncoder().encodeToString(s.getBytes(StandardCharsets.UTF_8));
    }

    /** The UTF-8 text of base64 data. */
    public String base64Decode(String s) {
        return new String(Base64.getDecoder().decode(s), StandardCharsets.UTF_8);
    }
}
