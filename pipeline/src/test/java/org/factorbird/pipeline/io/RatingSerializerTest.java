package org.factorbird.pipeline.io;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertSame;

import java.io.IOException;

import org.apache.flink.api.common.serialization.SerializerConfigImpl;
import org.apache.flink.api.common.typeinfo.TypeInformation;
import org.apache.flink.core.memory.DataInputDeserializer;
import org.apache.flink.core.memory.DataOutputSerializer;
import org.junit.jupiter.api.Test;

class RatingSerializerTest {

    private static byte[] write(Rating... rs) throws IOException {
        DataOutputSerializer out = new DataOutputSerializer(64);
        for (Rating r : rs) {
            RatingSerializer.INSTANCE.serialize(r, out);
        }
        return out.getCopyOfBuffer();
    }

    @Test
    void flinkFindsTheSerializerThroughTheTypeInfoAnnotation() {
        TypeInformation<Rating> type = TypeInformation.of(Rating.class);
        assertEquals(new FixedTypeInfo<>(Rating.class, RatingSerializer.INSTANCE), type);
        assertSame(RatingSerializer.INSTANCE, type.createSerializer(new SerializerConfigImpl()));
    }

    @Test
    void ratingsTakeTwentyFiveBytesAndNotesFollowOnlyWhereTheyMeanSomething() throws IOException {
        Rating train = new Rating(7L, -3L, 4.5f, 0.25f, Rating.TRAIN);
        train.note = "ignored for a rating";
        byte[] bytes = write(train);
        assertEquals(25, bytes.length);
        // kind, then big-endian row 7
        assertEquals(Rating.TRAIN, bytes[0]);
        assertEquals(7, bytes[8]);
        Rating back = RatingSerializer.INSTANCE.deserialize(new DataInputDeserializer(bytes));
        assertEquals(7L, back.row);
        assertEquals(-3L, back.col);
        assertEquals(4.5f, back.value);
        assertEquals(0.25f, back.weight);
        assertEquals(Rating.TRAIN, back.kind);
        assertNull(back.note);

        Rating bad = Rating.bad("a.csv:3: not a number");
        Rating name = Rating.name(Rating.COLUMN_NAME, 99L, "movie-ü");
        byte[] two = write(bad, name);
        DataInputDeserializer in = new DataInputDeserializer(two);
        Rating reuse = new Rating();
        assertEquals("a.csv:3: not a number", RatingSerializer.INSTANCE.deserialize(reuse, in).note);
        assertEquals(Rating.BAD, reuse.kind);
        Rating n = RatingSerializer.INSTANCE.deserialize(reuse, in);
        assertEquals("movie-ü", n.note);
        assertEquals(99L, n.row);
        assertEquals(Rating.COLUMN_NAME, n.kind);
        assertEquals(0, in.available());

        // copying the bytes record by record gives the same bytes
        DataInputDeserializer src = new DataInputDeserializer(two);
        DataOutputSerializer dst = new DataOutputSerializer(64);
        RatingSerializer.INSTANCE.copy(src, dst);
        RatingSerializer.INSTANCE.copy(src, dst);
        assertEquals(java.util.Arrays.toString(two), java.util.Arrays.toString(dst.getCopyOfBuffer()));
    }

    @Test
    void aChunkCrossesAsItsKeyItsSizeAndItsRecordsInTheRatingLayout() throws IOException {
        RatingChunk c = RatingChunk.of(new Rating(3L, 4L, 5f, Rating.TRAIN), Rating.bad("b.csv:2: no value"),
                Rating.name(Rating.ROW_NAME, 3L, "u3"));
        DataOutputSerializer out = new DataOutputSerializer(64);
        RatingChunk.Serializer.INSTANCE.serialize(c, out);
        byte[] bytes = out.getCopyOfBuffer();
        assertEquals(8 + 4 + write(c.get(0), c.get(1), c.get(2)).length, bytes.length);
        RatingChunk back = RatingChunk.Serializer.INSTANCE.deserialize(new DataInputDeserializer(bytes));
        assertEquals(3L, back.key);
        assertEquals(3, back.size);
        assertEquals(4L, back.cols[0]);
        assertEquals(5f, back.values[0]);
        assertEquals(Rating.BAD, back.kinds[1]);
        assertEquals("b.csv:2: no value", back.notes[1]);
        assertEquals("u3", back.get(2).note);
        assertEquals(Rating.ROW_NAME, back.get(2).kind);
        DataOutputSerializer copied = new DataOutputSerializer(64);
        RatingChunk.Serializer.INSTANCE.copy(new DataInputDeserializer(bytes), copied);
        assertEquals(java.util.Arrays.toString(bytes), java.util.Arrays.toString(copied.getCopyOfBuffer()));
    }
}
