package org.factorbird.pipeline.io;

import java.io.IOException;
import java.lang.reflect.Type;
import java.util.Map;

import org.apache.flink.api.common.typeinfo.TypeInfoFactory;
import org.apache.flink.api.common.typeinfo.TypeInformation;
import org.apache.flink.api.common.typeutils.SimpleTypeSerializerSnapshot;
import org.apache.flink.api.common.typeutils.TypeSerializerSnapshot;
import org.apache.flink.api.common.typeutils.base.TypeSerializerSingleton;
import org.apache.flink.core.memory.DataInputView;
import org.apache.flink.core.memory.DataOutputView;
import org.apache.flink.types.StringValue;

/**
 * Flink's serializer of {@link Rating}, for the load's shuffle (every input line crosses it once): the fields in a
 * fixed layout written directly, where Flink's POJO serializer reads and writes each field by reflection and adds
 * a null flag per field. Layout: {@code kind:int8 row:int64 col:int64 value:float32 weight:float32}, then, for
 * {@link Rating#BAD} and the name records only, the note in Flink's string encoding (25 bytes per rating).
 */
public final class RatingSerializer extends TypeSerializerSingleton<Rating> {

    private static final long serialVersionUID = 1L;

    public static final RatingSerializer INSTANCE = new RatingSerializer();

    /** Named by {@link Rating}'s {@code @TypeInfo}. */
    public static final class TypeFactory extends TypeInfoFactory<Rating> {
        @Override
        public TypeInformation<Rating> createTypeInfo(Type t, Map<String, TypeInformation<?>> genericParameters) {
            return new FixedTypeInfo<>(Rating.class, INSTANCE);
        }
    }

    @Override
    public boolean isImmutableType() {
        return false;
    }

    @Override
    public Rating createInstance() {
        return new Rating();
    }

    @Override
    public Rating copy(Rating from) {
        return copy(from, new Rating());
    }

    @Override
    public Rating copy(Rating from, Rating reuse) {
        reuse.kind = from.kind;
        reuse.row = from.row;
        reuse.col = from.col;
        reuse.value = from.value;
        reuse.weight = from.weight;
        reuse.note = from.note;
        return reuse;
    }

    @Override
    public int getLength() {
        return -1;
    }

    /** Whether records of this kind carry a note: bad lines and names. */
    static boolean hasNote(byte kind) {
        return kind == Rating.BAD || kind == Rating.ROW_NAME || kind == Rating.COLUMN_NAME;
    }

    @Override
    public void serialize(Rating r, DataOutputView out) throws IOException {
        write(out, r.kind, r.row, r.col, r.value, r.weight, r.note);
    }

    /** One record in this serializer's layout (also each record of a {@link RatingChunk}). */
    static void write(DataOutputView out, byte kind, long row, long col, float value, float weight, String note)
            throws IOException {
        out.writeByte(kind);
        out.writeLong(row);
        out.writeLong(col);
        out.writeFloat(value);
        out.writeFloat(weight);
        if (hasNote(kind)) {
            StringValue.writeString(note, out);
        }
    }

    @Override
    public Rating deserialize(DataInputView in) throws IOException {
        return deserialize(new Rating(), in);
    }

    @Override
    public Rating deserialize(Rating reuse, DataInputView in) throws IOException {
        reuse.kind = in.readByte();
        reuse.row = in.readLong();
        reuse.col = in.readLong();
        reuse.value = in.readFloat();
        reuse.weight = in.readFloat();
        reuse.note = hasNote(reuse.kind) ? StringValue.readString(in) : null;
        return reuse;
    }

    @Override
    public void copy(DataInputView in, DataOutputView out) throws IOException {
        byte kind = in.readByte();
        out.writeByte(kind);
        out.writeLong(in.readLong());
        out.writeLong(in.readLong());
        out.writeInt(in.readInt());
        out.writeInt(in.readInt());
        if (hasNote(kind)) {
            StringValue.copyString(in, out);
        }
    }

    @Override
    public TypeSerializerSnapshot<Rating> snapshotConfiguration() {
        return new Snapshot();
    }

    /** The serializer has no configuration: any snapshot restores {@link #INSTANCE}. */
    public static final class Snapshot extends SimpleTypeSerializerSnapshot<Rating> {
        public Snapshot() {
            super(() -> INSTANCE);
        }
    }
}
