import com.jayway.jsonpath.JsonPath;
import com.jayway.jsonpath.PathNotFoundException;
import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.TreeMap;
import net.minidev.json.JSONStyle;
import net.minidev.json.JSONValue;

/**
 * {@code $input} as API Gateway documents it: {@code body}, {@code json(path)}, {@code path(path)}
 * and {@code params()}. JSONPath is Jayway JsonPath over json-smart: objects become
 * {@code LinkedHashMap}s (they print as {@code {a=1, b=x}}), arrays json-smart {@code JSONArray}s
 * (they print as JSON), which is how API Gateway's values print.
 */
public class ApiGatewayInput {
    private final String body;
    private final Map<String, Map<String, String>> params;
    private Object document;

    /** {@code params} maps "path", "querystring" and "header" to name-ordered maps. */
    public ApiGatewayInput(String body, Map<String, Map<String, String>> params) {
        this.body = body;
        Map<String, Map<String, String>> all = new LinkedHashMap<>();
        for (String kind : new String[] {"path", "querystring", "header"}) {
            Map<String, String> section = params.get(kind);
            all.put(kind, section == null ? new TreeMap<>() : new TreeMap<>(section));
        }
        this.params = Collections.unmodifiableMap(all);
    }

    /** {@code $input.body}: the raw payload. */
    public String getBody() {
        return body;
    }

    private Object document() {
        if (document == null) {
            document = Json.parse(body);
        }
        return document;
    }

    /** {@code $input.path(x)}: the selection as an object; a definite path that misses is null. */
    public Object path(String path) {
        try {
            return JsonPath.read(document(), path);
        } catch (PathNotFoundException e) {
            return null;
        }
    }

    /** {@code $input.json(x)}: the selection as compact JSON; a definite path that misses is "". */
    public String json(String path) {
        try {
            return JSONValue.toJSONString(JsonPath.read(document(), path), JSONStyle.LT_COMPRESS);
        } catch (PathNotFoundException e) {
            return "";
        }
    }

    /** {@code $input.params()}: {@code {path={…}, querystring={…}, header={…}}}. */
    public Map<String, Map<String, String>> params() {
        return params;
    }

    /**
     * {@code $input.params(x)}: the path parameter, else the query-string parameter, else the
     * header (exact name, then ignoring case) called {@code name}; "" when there is none.
     */
    public String params(String name) {
        for (String kind : new String[] {"path", "querystring", "header"}) {
            String v = params.get(kind).get(name);
            if (v != null) {
                return v;
            }
        }
        for (Map.Entry<String, String> h : params.get("header").entrySet()) {
            if (h.getKey().equalsIgnoreCase(name)) {
                return h.getValue();
            }
        }
        return "";
    }
}
