package org.factorbird.pipeline.model;

import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.nio.charset.StandardCharsets;

import com.fasterxml.jackson.core.JacksonException;
import com.fasterxml.jackson.databind.DeserializationFeature;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.SerializationFeature;
import com.fasterxml.jackson.databind.json.JsonMapper;

import org.apache.flink.core.fs.FileSystem;
import org.apache.flink.core.fs.Path;

/**
 * Reads and writes the project's JSON files (model.json, grid.json, planted.json) as typed records, on any Flink
 * file system. Jackson escapes every string; unknown fields are ignored on reading, so newer files stay readable.
 */
public final class Json {

    private static final ObjectMapper MAPPER = JsonMapper.builder()
            .enable(SerializationFeature.INDENT_OUTPUT)
            .disable(DeserializationFeature.FAIL_ON_UNKNOWN_PROPERTIES)
            .build();

    private Json() {}

    public static String write(Object value) {
        try {
            return MAPPER.writeValueAsString(value) + "\n";
        } catch (IOException e) {
            throw new IllegalStateException("cannot write " + value.getClass().getSimpleName() + " as JSON", e);
        }
    }

    /** Writes {@code value} to {@code path} (any Flink file system), replacing the file. */
    public static void write(Path path, Object value) throws IOException {
        FileSystem fs = path.getFileSystem();
        try (OutputStream out = fs.create(path, FileSystem.WriteMode.OVERWRITE)) {
            out.write(write(value).getBytes(StandardCharsets.UTF_8));
        }
    }

    /** Reads {@code path} (any Flink file system) as {@code type}; errors name the file. */
    public static <T> T read(Path path, Class<T> type) throws IOException {
        try (InputStream in = path.getFileSystem().open(path)) {
            return MAPPER.readValue(in, type);
        } catch (JacksonException e) {
            throw new IOException(path + " is not a valid " + type.getSimpleName() + ": " + e.getOriginalMessage(), e);
        }
    }

    public static <T> T read(java.nio.file.Path path, Class<T> type) throws IOException {
        return read(new Path(path.toUri()), type);
    }

    /** A number rounded to {@code decimals} places for the files, or null (JSON has no NaN) when not finite. */
    public static Double round(double v, int decimals) {
        if (!Double.isFinite(v)) {
            return null;
        }
        double scale = Math.pow(10, decimals);
        return Math.round(v * scale) / scale;
    }
}
