package org.factorbird.pipeline.io;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.util.ArrayList;
import java.util.List;

import org.apache.flink.configuration.Configuration;
import org.apache.flink.connector.file.src.FileSourceSplit;
import org.apache.flink.connector.file.src.reader.BulkFormat;
import org.apache.flink.connector.file.src.util.RecordAndPosition;
import org.apache.flink.core.fs.Path;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class RatingFormatTest {

    @TempDir
    java.nio.file.Path dir;

    private List<Rating> readAll(java.nio.file.Path file, byte kind, boolean strict) throws IOException {
        return readAll(file, new RatingFormat(kind, strict));
    }

    private List<Rating> readAll(java.nio.file.Path file, RatingFormat format) throws IOException {
        long len = Files.size(file);
        FileSourceSplit split = new FileSourceSplit("0", new Path(file.toUri()), 0, len, 0, len);
        List<Rating> out = new ArrayList<>();
        try (BulkFormat.Reader<Rating> reader = format.createReader(new Configuration(), split)) {
            drain(reader, r -> out.add(r.getRecord()));
        }
        return out;
    }

    /** Every record of {@code reader}, with its position, to {@code sink}. */
    private static void drain(BulkFormat.Reader<Rating> reader,
            java.util.function.Consumer<RecordAndPosition<Rating>> sink) throws IOException {
        BulkFormat.RecordIterator<Rating> batch;
        while ((batch = reader.readBatch()) != null) {
            RecordAndPosition<Rating> r;
            while ((r = batch.next()) != null) {
                sink.accept(r);
            }
            batch.releaseBatch();
        }
    }

    @Test
    void skipsHeaderAndReportsBadLinesWithFileAndLine() throws IOException {
        java.nio.file.Path f = dir.resolve("r.csv");
        String longLine = "7,8," + "9".repeat(200_000);
        Files.writeString(f, "userId,movieId,rating,timestamp\r\n1,10,4.0,964982703\r\n"
                + "2,x,3\n\n-5,1,2\n" + longLine + "\n3,30,NaN\n4,40,2.5", StandardCharsets.UTF_8);
        List<Rating> rs = readAll(f, Rating.TEST, false);
        List<String> notes = new ArrayList<>();
        List<Rating> good = new ArrayList<>();
        for (Rating r : rs) {
            if (r.kind == Rating.BAD) {
                notes.add(r.note);
            } else {
                good.add(r);
            }
        }
        assertEquals(2, good.size());
        assertEquals(1, good.get(0).row);
        assertEquals(10, good.get(0).col);
        assertEquals(4.0f, good.get(0).value);
        assertEquals(Rating.TEST, good.get(0).kind);
        assertEquals(4, good.get(1).row);
        assertEquals(2.5f, good.get(1).value);
        String name = new Path(f.toUri()).toString();
        assertEquals(List.of(
                name + ":3: column id 'x' is not a non-negative integer (string ids need --ids string) in '2,x,3'",
                name + ":5: row id '-5' is not a non-negative integer in '-5,1,2'",
                name + ":6: line is longer than 65536 bytes",
                name + ":7: rating value 'NaN' is not finite in '3,30,NaN'"), notes);
    }

    @Test
    void strictModeFailsOnTheFirstBadLine() throws IOException {
        java.nio.file.Path f = dir.resolve("s.tsv");
        Files.writeString(f, "1\t2\t3\n1\t2\n");
        RatingFormat.BadInputException e = assertThrows(RatingFormat.BadInputException.class,
                () -> readAll(f, Rating.TRAIN, true));
        assertTrue(e.getMessage().endsWith("s.tsv:2: expected 3 fields (row, column, value) but the line ends "
                + "early in '1\t2' (--strict)"), e.getMessage());
    }

    @Test
    void readsManyLinesAcrossBufferBoundaries() throws IOException {
        java.nio.file.Path f = dir.resolve("big.csv");
        StringBuilder sb = new StringBuilder();
        int n = 100_000;
        for (int i = 0; i < n; i++) {
            sb.append(i).append(',').append(i % 97).append(',').append(i % 5).append(".5\n");
        }
        Files.writeString(f, sb);
        List<Rating> rs = readAll(f, Rating.TRAIN, true);
        assertEquals(n, rs.size());
        for (int i = 0; i < n; i++) {
            Rating r = rs.get(i);
            assertEquals(i, r.row);
            assertEquals(i % 97, r.col);
            assertEquals(i % 5 + 0.5f, r.value);
        }
    }

    @Test
    void compressedFilesAreReadDecompressed() throws IOException {
        String text = "row,col,rating\n1,10,4.0\n2,20,3.5\n3,30,x\n";
        java.nio.file.Path plain = Files.writeString(dir.resolve("r.csv"), text);
        java.nio.file.Path gz = dir.resolve("r.csv.gz");
        try (java.io.OutputStream out = new java.util.zip.GZIPOutputStream(Files.newOutputStream(gz))) {
            out.write(text.getBytes(StandardCharsets.UTF_8));
        }
        List<Rating> a = readAll(plain, Rating.TRAIN, false);
        List<Rating> b = readAll(gz, Rating.TRAIN, false);
        assertEquals(3, b.size());
        for (int i = 0; i < a.size(); i++) {
            assertEquals(a.get(i).row, b.get(i).row);
            assertEquals(a.get(i).col, b.get(i).col);
            assertEquals(a.get(i).value, b.get(i).value);
            assertEquals(a.get(i).kind, b.get(i).kind);
        }
        assertTrue(b.get(2).note.endsWith("r.csv.gz:4: rating value 'x' is not a number in '3,30,x'"), b.get(2).note);
    }

    @Test
    void validationSplitIsADeterministicShareOfTheTrainingLinesNotHeldOut() throws IOException {
        StringBuilder sb = new StringBuilder();
        for (int i = 0; i < 2000; i++) {
            sb.append(i % 97).append(',').append(i).append(",3\n");
        }
        java.nio.file.Path f = Files.writeString(dir.resolve("v.csv"), sb);
        RatingFormat format = new RatingFormat(Rating.TRAIN, false, 0, 0.2f, 0.25f, 7L);
        long len = Files.size(f);
        FileSourceSplit split = new FileSourceSplit("0", new Path(f.toUri()), 0, len, 0, len);
        int[] kinds = new int[4];
        try (BulkFormat.Reader<Rating> reader = format.createReader(new Configuration(), split)) {
            BulkFormat.RecordIterator<Rating> batch;
            while ((batch = reader.readBatch()) != null) {
                RecordAndPosition<Rating> r;
                while ((r = batch.next()) != null) {
                    Rating x = r.getRecord();
                    kinds[x.kind]++;
                    boolean heldOut = HoldoutSplit.isHeldOut(7L, x.row, x.col, 0.2);
                    boolean validation = !heldOut
                            && HoldoutSplit.isHeldOut(7L ^ HoldoutSplit.VALIDATION_SALT, x.row, x.col, 0.25);
                    assertEquals(heldOut ? Rating.TEST : validation ? Rating.VALIDATION : Rating.TRAIN, x.kind);
                }
                batch.releaseBatch();
            }
        }
        // 20% held out, then 25% of the remaining 80% for validation: about 400, 400 and 1200
        assertTrue(kinds[Rating.TEST] > 330 && kinds[Rating.TEST] < 470, "test " + kinds[Rating.TEST]);
        assertTrue(kinds[Rating.VALIDATION] > 330 && kinds[Rating.VALIDATION] < 470,
                "validation " + kinds[Rating.VALIDATION]);
        assertEquals(2000, kinds[Rating.TRAIN] + kinds[Rating.TEST] + kinds[Rating.VALIDATION]);
    }

    @Test
    void stringIdsAreNamedOnceEachBeforeTheirFirstTrainingLine() throws IOException {
        java.nio.file.Path f = dir.resolve("s.csv");
        // the header is told from data by its value field; "u2,i1,4" holds a new row only
        Files.writeString(f, "user,item,rating\nu1,i1,5\nu2,i1,4\nu1,i9,oops\nu1,i1,3\n", StandardCharsets.UTF_8);
        List<Rating> rs = readAll(f, new RatingFormat(Rating.TRAIN, false, 0, 0f, 0f, 1L, true));
        List<String> seen = new ArrayList<>();
        for (Rating r : rs) {
            seen.add(switch (r.kind) {
                case Rating.ROW_NAME -> "row " + r.note + (r.row == StringIds.key(r.note) ? "" : " WRONG KEY");
                case Rating.COLUMN_NAME -> "column " + r.note
                        + (r.row == StringIds.key(r.note) && r.col == r.row ? "" : " WRONG KEY");
                case Rating.TRAIN -> r.row + "," + r.col + "," + r.value;
                default -> r.note.substring(r.note.lastIndexOf('/') + 1);
            });
        }
        long u1 = StringIds.key("u1");
        long u2 = StringIds.key("u2");
        long i1 = StringIds.key("i1");
        assertEquals(List.of("row u1", "column i1", u1 + "," + i1 + ",5.0", "row u2", u2 + "," + i1 + ",4.0",
                "s.csv:4: rating value 'oops' is not a number in 'u1,i9,oops'", u1 + "," + i1 + ",3.0"), seen);

        // held-out files name nothing: only trained ids are written
        for (Rating r : readAll(f, new RatingFormat(Rating.TEST, false, 0, 0f, 0f, 1L, true))) {
            assertTrue(r.kind == Rating.TEST || r.kind == Rating.BAD, r.toString());
        }
    }

    @Test
    void aCompressedOrBinaryFileUnderAPlainNameIsRefusedInOneLine() throws IOException {
        java.nio.file.Path gz = dir.resolve("ratings.csv");
        try (java.io.OutputStream o = new java.util.zip.GZIPOutputStream(Files.newOutputStream(gz))) {
            o.write("1,2,3\n4,5,6\n".getBytes(StandardCharsets.UTF_8));
        }
        RatingFormat.BadInputException e = assertThrows(RatingFormat.BadInputException.class,
                () -> readAll(gz, Rating.TRAIN, false));
        assertTrue(e.getMessage().endsWith("ratings.csv: gzip data where text lines were expected; compressed input "
                + "is read by its file name (.gz, .bz2, .xz, .zst, .deflate)"), e.getMessage());
        java.nio.file.Path nul = dir.resolve("nul.csv");
        Files.write(nul, new byte[] {'1', ',', 0, ',', '3', '\n'});
        e = assertThrows(RatingFormat.BadInputException.class, () -> readAll(nul, Rating.TRAIN, false));
        assertTrue(e.getMessage().contains("nul.csv: binary data (a NUL byte in its first line)"), e.getMessage());
        byte[][] magics = {{'B', 'Z', 'h', '9'}, {(byte) 0xFD, '7', 'z', 'X', 'Z', 0}, {0x28, (byte) 0xB5, 0x2F,
                (byte) 0xFD}, {'P', 'K', 3, 4}, {'P', 'A', 'R', '1'}};
        String[] kinds = {"bzip2 data", "xz data", "zstd data", "a zip archive", "a Parquet file"};
        for (int i = 0; i < magics.length; i++) {
            assertEquals(kinds[i], RatingFormat.binaryKind(magics[i], 0, magics[i].length));
        }
        byte[] text = "user,item,rating\n".getBytes(StandardCharsets.UTF_8);
        assertEquals(null, RatingFormat.binaryKind(text, 0, text.length));
    }

    @Test
    void aStreamSkipsABinaryOrUnreadableFileAsOneBadRecord() throws IOException {
        java.nio.file.Path gz = dir.resolve("late.csv");
        try (java.io.OutputStream o = new java.util.zip.GZIPOutputStream(Files.newOutputStream(gz))) {
            o.write("1,2,3\n4,5,6\n".getBytes(StandardCharsets.UTF_8));
        }
        List<Rating> rs = readAll(gz, new RatingFormat(Rating.TRAIN, false).skippingBadFiles());
        assertEquals(1, rs.size(), rs.toString());
        assertEquals(Rating.BAD, rs.get(0).kind);
        assertTrue(rs.get(0).note.endsWith("late.csv: gzip data where text lines were expected; compressed input is "
                + "read by its file name (.gz, .bz2, .xz, .zst, .deflate) (file skipped)"), rs.get(0).note);
        java.nio.file.Path gone = dir.resolve("gone.csv");
        Files.writeString(gone, "1,2,3\n");
        long len = Files.size(gone);
        FileSourceSplit split = new FileSourceSplit("0", new Path(gone.toUri()), 0, len, 0, len);
        Files.delete(gone); // listed, then gone before it is read
        try (BulkFormat.Reader<Rating> reader = new RatingFormat(Rating.TRAIN, false).skippingBadFiles()
                .createReader(new Configuration(), split)) {
            RecordAndPosition<Rating> r = reader.readBatch().next();
            assertEquals(Rating.BAD, r.getRecord().kind);
            assertTrue(r.getRecord().note.contains("gone.csv: cannot be read: ") && r.getRecord().note
                    .endsWith("(file skipped)"), r.getRecord().note);
            assertEquals(null, reader.readBatch());
        }
        // strict streams still stop
        assertThrows(RatingFormat.BadInputException.class, () -> readAll(gz, new RatingFormat(Rating.TRAIN, true)
                .skippingBadFiles()));
    }

    @Test
    void byteRangesOfOneFileReadEveryLineExactlyOnce() throws IOException {
        java.nio.file.Path f = dir.resolve("big.csv");
        StringBuilder sb = new StringBuilder("user,item,rating\n");
        long badOffset = -1;
        java.util.Random rnd = new java.util.Random(5);
        for (int i = 0; i < 5000; i++) {
            if (i == 3000) {
                badOffset = sb.length();
                sb.append("7,oops,1\n");
            }
            sb.append(rnd.nextInt(1_000_000)).append(',').append(i).append(',').append(1 + rnd.nextInt(5))
                    .append(i % 7 == 0 ? ",1234567890" : "").append('\n');
        }
        Files.writeString(f, sb, StandardCharsets.US_ASCII);
        List<Rating> whole = readAll(f, Rating.TRAIN, false);
        // ranges of ~1,000 bytes: about 100 splits, most boundaries inside a line, some right at one
        List<FileSourceSplit> splits = new ArrayList<>(new RangeEnumerator(1000).enumerateSplits(
                new Path[] {new Path(f.toUri())}, 50));
        assertTrue(splits.size() > 50, "splits: " + splits.size());
        List<Rating> ranged = new ArrayList<>();
        for (FileSourceSplit split : splits) {
            try (BulkFormat.Reader<Rating> reader = new RatingFormat(Rating.TRAIN, false).createReader(
                    new Configuration(), split)) {
                drain(reader, r -> ranged.add(r.getRecord()));
            }
        }
        assertEquals(5001, whole.size());
        assertEquals(whole.size(), ranged.size());
        for (int i = 0; i < whole.size(); i++) {
            Rating a = whole.get(i);
            Rating b = ranged.get(i);
            assertEquals(a.kind, b.kind, "record " + i);
            assertEquals(a.row, b.row, "record " + i);
            assertEquals(a.col, b.col, "record " + i);
            assertEquals(a.value, b.value, "record " + i);
        }
        Rating bad = ranged.stream().filter(r -> r.kind == Rating.BAD).findFirst().orElseThrow();
        assertTrue(bad.note.endsWith("big.csv at byte " + badOffset + ": column id 'oops' is not a non-negative "
                + "integer (string ids need --ids string) in '7,oops,1'"), bad.note);
        // compressed files stay whole
        java.nio.file.Path gz = dir.resolve("big.csv.gz");
        try (java.io.OutputStream o = new java.util.zip.GZIPOutputStream(Files.newOutputStream(gz))) {
            o.write(sb.toString().getBytes(StandardCharsets.US_ASCII));
        }
        assertEquals(1, new RangeEnumerator(100).enumerateSplits(new Path[] {new Path(gz.toUri())}, 4).size());
    }

    @Test
    void aRestoredReaderGoesOnAfterItsPositionAndReportsTrueOnes() throws IOException {
        java.nio.file.Path f = dir.resolve("restore.csv");
        StringBuilder sb = new StringBuilder();
        for (int i = 0; i < 9000; i++) {
            sb.append(i).append(',').append(i % 97).append(",3\n");
        }
        Files.writeString(f, sb, StandardCharsets.US_ASCII);
        long len = Files.size(f);
        FileSourceSplit split = new FileSourceSplit("0", new Path(f.toUri()), 0, len, 0, len)
                .updateWithCheckpointedPosition(new org.apache.flink.connector.file.src.util.CheckpointedPosition(
                        org.apache.flink.connector.file.src.util.CheckpointedPosition.NO_OFFSET, 5000));
        List<Long> rows = new ArrayList<>();
        List<Long> positions = new ArrayList<>();
        try (BulkFormat.Reader<Rating> reader = new RatingFormat(Rating.TRAIN, false).restoreReader(
                new Configuration(), split)) {
            drain(reader, r -> {
                rows.add(r.getRecord().row);
                positions.add(r.getRecordSkipCount());
            });
        }
        assertEquals(4000, rows.size());
        assertEquals(5000L, rows.get(0));
        // a checkpoint taken after record k must say "k records done": 5001 after the first one read here
        assertEquals(5001L, positions.get(0));
        assertEquals(9000L, positions.get(positions.size() - 1));
    }
}
