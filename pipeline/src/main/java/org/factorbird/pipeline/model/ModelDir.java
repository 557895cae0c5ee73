package org.factorbird.pipeline.model;

import java.io.BufferedReader;
import java.io.FileNotFoundException;
import java.io.IOException;
import java.io.InputStreamReader;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;

import org.apache.flink.core.fs.FileStatus;
import org.apache.flink.core.fs.FileSystem;
import org.apache.flink.core.fs.Path;
import org.factorbird.pipeline.io.StringIds;

/**
 * A trained model's directory on any Flink file system: {@code model.json} and the factor files under
 * {@code rows/} and {@code columns/}, one line per id: {@code id<TAB>bias<TAB>f1 .. fk}. What {@code recommend}
 * and {@code predict} read; every error names the directory, file or line. With string ids (model.json's
 * {@code settings.ids}) the id is text and its key {@link StringIds#key}.
 */
public final class ModelDir {

    /** Receives one factor line: the id and {@code [bias, f1 .. fk]} (a buffer reused between calls). */
    @FunctionalInterface
    public interface FactorVisitor {
        void accept(long id, float[] values) throws Exception;
    }

    /** Receives the id of one factor line: its key and, with string ids, its text (else null). */
    @FunctionalInterface
    public interface IdVisitor {
        void accept(long key, String text) throws Exception;
    }

    private final String dir;
    private final ModelFile model;

    private ModelDir(String dir, ModelFile model) {
        this.dir = dir;
        this.model = model;
    }

    /** Reads {@code dir/model.json}; fails with one line when it is not a model directory. */
    public static ModelDir open(String dir) throws IOException {
        Path json = new Path(dir, "model.json");
        if (!json.getFileSystem().exists(json)) {
            throw new IOException("--model " + dir + " has no model.json (not the output directory of a training "
                    + "run?)");
        }
        ModelFile model = Json.read(json, ModelFile.class);
        if (model.rank() < 1) {
            throw new IOException(json + " names rank " + model.rank());
        }
        return new ModelDir(dir, model);
    }

    public String dir() {
        return dir;
    }

    public ModelFile model() {
        return model;
    }

    /** Whether the ids are strings (trained with --ids string). */
    public boolean stringIds() {
        return model.settings() != null && model.settings().stringIds();
    }

    /** Floats per id: bias and rank factors. */
    public int dim() {
        return model.rank() + 1;
    }

    /** The part files of {@code kind} ("rows" or "columns"), in name order; fails when there are none. */
    public List<Path> files(String kind) throws IOException {
        Path root = new Path(dir, kind);
        FileSystem fs = root.getFileSystem();
        List<Path> out = new ArrayList<>();
        if (fs.exists(root)) {
            collect(fs, root, out);
        }
        if (out.isEmpty()) {
            throw new FileNotFoundException("--model " + dir + " has no " + kind + "/ files");
        }
        out.sort((a, b) -> a.toString().compareTo(b.toString()));
        return out;
    }

    private static void collect(FileSystem fs, Path p, List<Path> out) throws IOException {
        for (FileStatus st : fs.listStatus(p)) {
            String name = st.getPath().getName();
            if (st.isDir()) {
                collect(fs, st.getPath(), out);
            } else if (name.startsWith("part") && !name.startsWith(".")) {
                out.add(st.getPath());
            }
        }
    }

    /** Reads every line of {@code file}: checks that it holds an id and exactly {@link #dim()} numbers. */
    public void read(Path file, FactorVisitor visitor) throws Exception {
        float[] values = new float[dim()];
        boolean text = stringIds();
        forEachLine(file, (line, n) -> visitor.accept(parse(line, values, file, n, text), values));
    }

    /** Reads the ids of every line of {@code file}, not their numbers. */
    public void readIds(Path file, IdVisitor visitor) throws Exception {
        boolean text = stringIds();
        forEachLine(file, (line, n) -> {
            String id = idText(line);
            visitor.accept(key(id, text, line, file, n), text ? id : null);
        });
    }

    @FunctionalInterface
    private interface LineVisitor {
        void accept(String line, long number) throws Exception;
    }

    /** The non-empty lines of {@code file} with their 1-based numbers. */
    private static void forEachLine(Path file, LineVisitor visitor) throws Exception {
        try (BufferedReader in = new BufferedReader(new InputStreamReader(file.getFileSystem().open(file),
                StandardCharsets.UTF_8), 1 << 16)) {
            String line;
            long n = 0;
            while ((line = in.readLine()) != null) {
                n++;
                if (!line.isEmpty()) {
                    visitor.accept(line, n);
                }
            }
        }
    }

    /** The id field of a factor line: the text before its first tab. */
    public static String idText(String line) {
        int tab = line.indexOf('\t');
        return tab < 0 ? line : line.substring(0, tab);
    }

    /** The key of id {@code id}: the number itself, or with {@code text} ids its {@link StringIds#key}. */
    private static long key(String id, boolean text, String line, Object file, long lineNumber) throws IOException {
        if (text) {
            if (id.isEmpty()) {
                throw new IOException(file + ":" + lineNumber + ": a factor line without an id");
            }
            return StringIds.key(id);
        }
        try {
            return Long.parseLong(id);
        } catch (NumberFormatException e) {
            throw notAFactorLine(line, file, lineNumber);
        }
    }

    private static IOException notAFactorLine(String line, Object file, long lineNumber) {
        return new IOException(file + ":" + lineNumber + ": not a factor line (id, bias, factors): '"
                + (line.length() > 80 ? line.substring(0, 80) + "..." : line) + "'");
    }

    /** Parses {@code id<TAB>v1..v_dim} into {@code values}; returns the id's key ({@code text}: a string id). */
    public static long parse(String line, float[] values, Object file, long lineNumber, boolean text)
            throws IOException {
        int dim = values.length;
        int tab = line.indexOf('\t');
        long id = key(tab < 0 ? line : line.substring(0, tab), text, line, file, lineNumber);
        try {
            int at = tab + 1;
            for (int j = 0; j < dim; j++) {
                if (tab < 0 || at > line.length()) {
                    throw new IOException(file + ":" + lineNumber + ": " + j + " values, the model's rank needs "
                            + dim + " (bias and " + (dim - 1) + " factors)");
                }
                int next = line.indexOf('\t', at);
                int end = next < 0 ? line.length() : next;
                values[j] = Float.parseFloat(line.substring(at, end));
                at = end + 1;
                if (next < 0 && j < dim - 1) {
                    throw new IOException(file + ":" + lineNumber + ": " + (j + 1) + " values, the model's rank "
                            + "needs " + dim + " (bias and " + (dim - 1) + " factors)");
                }
            }
            if (at <= line.length()) {
                throw new IOException(file + ":" + lineNumber + ": more than " + dim + " values (bias and "
                        + (dim - 1) + " factors): rows and columns of another rank?");
            }
            return id;
        } catch (NumberFormatException e) {
            throw notAFactorLine(line, file, lineNumber);
        }
    }
}
