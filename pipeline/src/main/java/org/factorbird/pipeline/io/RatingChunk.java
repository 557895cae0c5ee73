package org.factorbird.pipeline.io;

import java.io.IOException;
import java.lang.reflect.Type;
import java.util.Map;

import org.apache.flink.api.common.typeinfo.TypeInfo;
import org.apache.flink.api.common.typeinfo.TypeInfoFactory;
import org.apache.flink.api.common.typeinfo.TypeInformation;
import org.apache.flink.api.common.typeutils.SimpleTypeSerializerSnapshot;
import org.apache.flink.api.common.typeutils.TypeSerializerSnapshot;
import org.apache.flink.api.common.typeutils.base.TypeSerializerSingleton;
import org.apache.flink.core.memory.DataInputView;
import org.apache.flink.core.memory.DataOutputView;
import org.apache.flink.types.StringValue;

/**
 * Input records bound for one training subtask, crossing the load's shuffle together (made by
 * {@link ChunkOperator}): Flink's costs per record on both sides of a network exchange (the record's frame, key
 * extraction and partitioning, deserialization into a new object) are paid once per chunk of up to
 * {@link #CAPACITY} lines instead of once per line. Flink routes a chunk by {@link #key}, its first record's row;
 * every record of a chunk has a row of that key's subtask. Bad lines and names travel in chunks too: record i is
 * {@code kinds[i], rows[i], cols[i], values[i], weights[i]} and, for those, {@code notes[i]}.
 */
@TypeInfo(RatingChunk.TypeFactory.class)
public final class RatingChunk {

    /** Records per chunk at most: 1024 x 25 bytes, most of one 32 KB network buffer. */
    public static final int CAPACITY = 1024;

    public long key;
    public int size;
    public final long[] rows;
    public final long[] cols;
    public final float[] values;
    public final float[] weights;
    public final byte[] kinds;
    /** Null until a record with a note arrives. */
    public String[] notes;

    public RatingChunk(int capacity) {
        if (capacity < 1) {
            throw new IllegalArgumentException("chunk capacity must be >= 1 but was " + capacity);
        }
        rows = new long[capacity];
        cols = new long[capacity];
        values = new float[capacity];
        weights = new float[capacity];
        kinds = new byte[capacity];
    }

    /** A chunk of these records (tests, and the operator harness). */
    public static RatingChunk of(Rating... records) {
        RatingChunk c = new RatingChunk(Math.max(1, records.length));
        for (Rating r : records) {
            c.add(r);
        }
        return c;
    }

    public boolean full() {
        return size == rows.length;
    }

    /** Appends {@code r}; the first record's row becomes the key. */
    public void add(Rating r) {
        if (size == 0) {
            key = r.row;
        }
        rows[size] = r.row;
        cols[size] = r.col;
        values[size] = r.value;
        weights[size] = r.weight;
        kinds[size] = r.kind;
        if (RatingSerializer.hasNote(r.kind)) {
            if (notes == null) {
                notes = new String[rows.length];
            }
            notes[size] = r.note;
        } else if (notes != null) {
            notes[size] = null;
        }
        size++;
    }

    /** Record i as a new {@link Rating}. */
    public Rating get(int i) {
        Rating r = new Rating(rows[i], cols[i], values[i], weights[i], kinds[i]);
        r.note = notes == null ? null : notes[i];
        return r;
    }

    public void clear() {
        size = 0;
    }

    /** Named by the class's {@code @TypeInfo}. */
    public static final class TypeFactory extends TypeInfoFactory<RatingChunk> {
        @Override
        public TypeInformation<RatingChunk> createTypeInfo(Type t, Map<String, TypeInformation<?>> generics) {
            return new FixedTypeInfo<>(RatingChunk.class, Serializer.INSTANCE);
        }
    }

    /**
     * Layout: {@code key:int64 size:int32}, then per record {@link RatingSerializer}'s layout (25 bytes, notes
     * after bad lines and names). A deserialized chunk's arrays are exactly {@code size} long.
     */
    public static final class Serializer extends TypeSerializerSingleton<RatingChunk> {

        private static final long serialVersionUID = 1L;

        public static final Serializer INSTANCE = new Serializer();

        @Override
        public boolean isImmutableType() {
            return false;
        }

        @Override
        public RatingChunk createInstance() {
            return new RatingChunk(1);
        }

        @Override
        public RatingChunk copy(RatingChunk from) {
            RatingChunk c = new RatingChunk(Math.max(1, from.size));
            c.key = from.key;
            c.size = from.size;
            System.arraycopy(from.rows, 0, c.rows, 0, from.size);
            System.arraycopy(from.cols, 0, c.cols, 0, from.size);
            System.arraycopy(from.values, 0, c.values, 0, from.size);
            System.arraycopy(from.weights, 0, c.weights, 0, from.size);
            System.arraycopy(from.kinds, 0, c.kinds, 0, from.size);
            if (from.notes != null) {
                c.notes = java.util.Arrays.copyOf(from.notes, c.rows.length);
            }
            return c;
        }

        @Override
        public RatingChunk copy(RatingChunk from, RatingChunk reuse) {
            return copy(from);
        }

        @Override
        public int getLength() {
            return -1;
        }

        @Override
        public void serialize(RatingChunk c, DataOutputView out) throws IOException {
            out.writeLong(c.key);
            out.writeInt(c.size);
            for (int i = 0; i < c.size; i++) {
                RatingSerializer.write(out, c.kinds[i], c.rows[i], c.cols[i], c.values[i], c.weights[i],
                        c.notes == null ? null : c.notes[i]);
            }
        }

        @Override
        public RatingChunk deserialize(DataInputView in) throws IOException {
            long key = in.readLong();
            int size = in.readInt();
            RatingChunk c = new RatingChunk(Math.max(1, size));
            c.key = key;
            c.size = size;
            for (int i = 0; i < size; i++) {
                byte kind = in.readByte();
                c.kinds[i] = kind;
                c.rows[i] = in.readLong();
                c.cols[i] = in.readLong();
                c.values[i] = in.readFloat();
                c.weights[i] = in.readFloat();
                if (RatingSerializer.hasNote(kind)) {
                    if (c.notes == null) {
                        c.notes = new String[c.rows.length];
                    }
                    c.notes[i] = StringValue.readString(in);
                }
            }
            return c;
        }

        @Override
        public RatingChunk deserialize(RatingChunk reuse, DataInputView in) throws IOException {
            return deserialize(in);
        }

        @Override
        public void copy(DataInputView in, DataOutputView out) throws IOException {
            out.writeLong(in.readLong());
            int size = in.readInt();
            out.writeInt(size);
            for (int i = 0; i < size; i++) {
                RatingSerializer.INSTANCE.copy(in, out);
            }
        }

        @Override
        public TypeSerializerSnapshot<RatingChunk> snapshotConfiguration() {
            return new Snapshot();
        }

        /** No configuration: any snapshot restores {@link #INSTANCE}. */
        public static final class Snapshot extends SimpleTypeSerializerSnapshot<RatingChunk> {
            public Snapshot() {
                super(() -> INSTANCE);
            }
        }
    }
}
