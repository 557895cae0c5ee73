package org.factorbird.pipeline.io;

import java.io.IOException;
import java.io.OutputStream;
import java.nio.charset.StandardCharsets;

import org.apache.flink.api.common.serialization.Encoder;
import org.apache.flink.connector.file.sink.FileSink;
import org.apache.flink.core.fs.Path;
import org.apache.flink.core.io.SimpleVersionedSerializer;
import org.apache.flink.streaming.api.functions.sink.filesystem.BucketAssigner;
import org.apache.flink.streaming.api.functions.sink.filesystem.OutputFileConfig;
import org.apache.flink.streaming.api.functions.sink.filesystem.bucketassigners.SimpleVersionedStringSerializer;

/** A {@link FileSink} writing each {@link OutLine} to {@code ROOT/<bucket>/part-*.tsv}. */
public final class OutLineSink {

    private OutLineSink() {}

    public static FileSink<OutLine> create(String root) {
        return FileSink.forRowFormat(new Path(root), new LineEncoder())
                .withBucketAssigner(new ByBucket())
                .withOutputFileConfig(OutputFileConfig.builder().withPartPrefix("part").withPartSuffix(".tsv").build())
                .build();
    }

    static final class LineEncoder implements Encoder<OutLine> {
        private static final long serialVersionUID = 1L;

        @Override
        public void encode(OutLine element, OutputStream stream) throws IOException {
            stream.write(element.line.getBytes(StandardCharsets.UTF_8));
            stream.write('\n');
        }
    }

    static final class ByBucket implements BucketAssigner<OutLine, String> {
        private static final long serialVersionUID = 1L;

        @Override
        public String getBucketId(OutLine element, Context context) {
            return element.bucket;
        }

        @Override
        public SimpleVersionedSerializer<String> getSerializer() {
            return SimpleVersionedStringSerializer.INSTANCE;
        }
    }
}
