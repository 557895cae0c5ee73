package org.factorbird.pipeline;

import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.HashMap;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.stream.Stream;

import org.factorbird.pipeline.model.GridFile;
import org.factorbird.pipeline.model.Json;
import org.factorbird.pipeline.model.ModelFile;

/** Readers of what tests feed the job and what it writes; shared with the jobs module's tests (test-jar). */
public final class ModelFiles {

    private ModelFiles() {}

    /** id -> parameters, failing on a duplicate id. */
    public static Map<Long, float[]> readFactors(Path dir) throws IOException {
        Map<Long, float[]> out = new HashMap<>();
        readNamedFactors(dir).forEach((id, v) -> out.put(Long.parseLong(id), v));
        return out;
    }

    /** id as written (text) -> parameters, failing on a duplicate id. */
    public static Map<String, float[]> readNamedFactors(Path dir) throws IOException {
        Map<String, float[]> out = new HashMap<>();
        try (Stream<Path> files = Files.walk(dir)) {
            for (Path f : (Iterable<Path>) files.filter(p -> p.getFileName().toString().startsWith("part"))::iterator) {
                for (String line : Files.readAllLines(f)) {
                    String[] parts = line.split("\t");
                    float[] v = new float[parts.length - 1];
                    for (int i = 1; i < parts.length; i++) {
                        v[i - 1] = Float.parseFloat(parts[i]);
                    }
                    float[] old = out.put(parts[0], v);
                    assertTrue(old == null, "id written twice: " + parts[0]);
                }
            }
        }
        return out;
    }

    /** The lines of a directory of rating files ("row,col,value", header skipped), split into fields. */
    public static List<String[]> ratingsOf(Path dir) throws IOException {
        List<String[]> out = new ArrayList<>();
        try (Stream<Path> files = Files.list(dir)) {
            for (Path f : (Iterable<Path>) files.sorted()::iterator) {
                for (String line : Files.readAllLines(f)) {
                    if (!line.startsWith("row")) {
                        out.add(line.split(","));
                    }
                }
            }
        }
        return out;
    }

    /** The row ids and the column ids of a directory of rating files ("row,col,value", header skipped). */
    public static Set<Long>[] idsOf(Path dir) throws IOException {
        Set<Long> rows = new HashSet<>();
        Set<Long> cols = new HashSet<>();
        for (String[] p : ratingsOf(dir)) {
            rows.add(Long.parseLong(p[0]));
            cols.add(Long.parseLong(p[1]));
        }
        @SuppressWarnings("unchecked")
        Set<Long>[] out = new Set[] {rows, cols};
        return out;
    }

    /** The tab-separated lines of a job's output directory (its part files, at any depth). */
    public static List<String[]> outputLines(Path dir) throws IOException {
        List<String[]> out = new ArrayList<>();
        try (Stream<Path> files = Files.walk(dir)) {
            for (Path f : (Iterable<Path>) files.filter(p -> p.getFileName().toString().startsWith("part"))::iterator) {
                for (String line : Files.readAllLines(f)) {
                    out.add(line.split("\t"));
                }
            }
        }
        return out;
    }

    /** {@code dir/model.json}, typed. */
    public static ModelFile model(Path dir) throws IOException {
        return Json.read(dir.resolve("model.json"), ModelFile.class);
    }

    /** {@code dir/grid.json}, typed. */
    public static GridFile grid(Path dir) throws IOException {
        return Json.read(dir.resolve("grid.json"), GridFile.class);
    }
}
