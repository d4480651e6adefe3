import java.io.File;
import java.io.FileDescriptor;
import java.io.FileOutputStream;
import java.io.PrintStream;
import java.io.StringWriter;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.TreeMap;
import net.minidev.json.JSONValue;
import org.apache.velocity.VelocityContext;
import org.apache.velocity.app.VelocityEngine;

/**
 * Renders every case of the mapping-template corpus with Apache Velocity 1.7, the engine API
 * Gateway runs, and prints {@code {"case": {"output": …}}} (or {@code {"error": …}}) as JSON, as
 * Switchboard's {@code vtl_render} example does. {@code tests/vtl/compare.mjs} compares the two.
 *
 * <pre>java -cp BUILD:JARS VelocityRender CORPUS_DIR</pre>
 */
public final class VelocityRender {
    private VelocityRender() {}

    public static void main(String[] args) throws Exception {
        if (args.length != 1) {
            System.err.println("usage: VelocityRender CORPUS_DIR");
            System.exit(2);
        }
        File[] files = new File(args[0]).listFiles((d, n) -> n.endsWith(".json"));
        if (files == null) {
            System.err.println(args[0] + ": not a directory");
            System.exit(2);
        }
        Arrays.sort(files);

        VelocityEngine engine = new VelocityEngine();
        engine.setProperty("runtime.log.logsystem.class", "org.apache.velocity.runtime.log.NullLogChute");
        engine.init();

        Map<String, Object> results = new LinkedHashMap<>();
        for (File file : files) {
            String name = file.getName().replaceFirst("\\.json$", "");
            Map<String, Object> c = asMap(Json.parse(Files.readString(file.toPath(), StandardCharsets.UTF_8)));
            Map<String, Object> result = new LinkedHashMap<>();
            try {
                result.put("output", render(engine, name, c));
            } catch (Exception | StackOverflowError e) {
                result.put("error", e.getClass().getSimpleName() + ": " + e.getMessage());
            }
            results.put(name, result);
        }
        PrintStream out = new PrintStream(new FileOutputStream(FileDescriptor.out), false, StandardCharsets.UTF_8);
        out.println(JSONValue.toJSONString(results));
        out.flush();
    }

    /** One case: {@code template} against {@code body}, {@code context}, {@code stageVariables}, {@code params}. */
    private static String render(VelocityEngine engine, String name, Map<String, Object> c) throws Exception {
        Map<String, Map<String, String>> params = new LinkedHashMap<>();
        Object p = c.get("params");
        if (p != null) {
            for (Map.Entry<String, Object> e : asMap(p).entrySet()) {
                params.put(e.getKey(), strings(e.getValue()));
            }
        }
        VelocityContext ctx = new VelocityContext();
        ctx.put("input", new ApiGatewayInput((String) c.get("body"), params));
        ctx.put("util", new ApiGatewayUtil());
        ctx.put("context", c.get("context"));
        ctx.put("stageVariables", strings(c.get("stageVariables")));
        StringWriter out = new StringWriter();
        engine.evaluate(ctx, out, name, (String) c.get("template"));
        return out.toString();
    }

    @SuppressWarnings("unchecked")
    private static Map<String, Object> asMap(Object o) {
        return (Map<String, Object>) o;
    }

    /** A JSON object of strings as a name-ordered map. */
    private static Map<String, String> strings(Object o) {
        Map<String, String> out = new TreeMap<>();
        if (o != null) {
            for (Map.Entry<String, Object> e : asMap(o).entrySet()) {
                out.put(e.getKey(), String.valueOf(e.getValue()));
            }
        }
        return out;
    }
}
