import com.jayway.jsonpath.Configuration;
import com.jayway.jsonpath.spi.json.JsonProvider;

/** The JSON parser behind {@code $input} and {@code $util.parseJson}: JsonPath's default, json-smart. */
final class Json {
    private static final JsonProvider PROVIDER = Configuration.defaultConfiguration().jsonProvider();

    private Json() {}

    /** Objects become insertion-ordered maps, arrays json-smart lists. */
    static Object parse(String text) {
        return PROVIDER.parse(text);
    }
}
