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

/**
 * A trained model's directory on any Flink file system: {@code model.json} and the factor files under
 * {@code rows/} and {@code columns/}, one line per id: {@code id<TAB>bias<TAB>f1 .. fk}. What {@code recommend}
 * and {@code predict} read; every error names the directory, file or line.
 */
public final class ModelDir {

    /** Receives one factor line: the id and {@code [bias, f1 .. fk]} (a buffer reused between calls). */
    @FunctionalInterface
    public interface FactorVisitor {
        void accept(long id, float[] values) throws Exception;
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
        int dim = dim();
        float[] values = new float[dim];
        try (BufferedReader in = new BufferedReader(new InputStreamReader(file.getFileSystem().open(file),
                StandardCharsets.UTF_8), 1 << 16)) {
            String line;
            long n = 0;
            while ((line = in.readLine()) != null) {
                n++;
                if (line.isEmpty()) {
                    continue;
                }
                visitor.accept(parse(line, values, file, n), values);
            }
        }
    }

    /** Parses {@code id<TAB>v1..v_dim} into {@code values}; returns the id. */
    public static long parse(String line, float[] values, Object file, long lineNumber) throws IOException {
        int dim = values.length;
        int tab = line.indexOf('\t');
        try {
            long id = Long.parseLong(tab < 0 ? line : line.substring(0, tab));
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
            throw new IOException(file + ":" + lineNumber + ": not a factor line (id, bias, factors): '"
                    + (line.length() > 80 ? line.substring(0, 80) + "..." : line) + "'");
        }
    }
}
