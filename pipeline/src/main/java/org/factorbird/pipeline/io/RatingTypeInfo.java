package org.factorbird.pipeline.io;

import java.lang.reflect.Type;
import java.util.Map;

import org.apache.flink.api.common.serialization.SerializerConfig;
import org.apache.flink.api.common.typeinfo.TypeInfoFactory;
import org.apache.flink.api.common.typeinfo.TypeInformation;
import org.apache.flink.api.common.typeutils.TypeSerializer;

/** Flink's type of {@link Rating} (see its {@code @TypeInfo}): serialized by {@link RatingSerializer}. */
public final class RatingTypeInfo extends TypeInformation<Rating> {

    private static final long serialVersionUID = 1L;

    /** Found through {@code @TypeInfo} on {@link Rating}, wherever Flink extracts the type. */
    public static final class Factory extends TypeInfoFactory<Rating> {
        @Override
        public TypeInformation<Rating> createTypeInfo(Type t, Map<String, TypeInformation<?>> genericParameters) {
            return new RatingTypeInfo();
        }
    }

    @Override
    public boolean isBasicType() {
        return false;
    }

    @Override
    public boolean isTupleType() {
        return false;
    }

    @Override
    public int getArity() {
        return 1;
    }

    @Override
    public int getTotalFields() {
        return 1;
    }

    @Override
    public Class<Rating> getTypeClass() {
        return Rating.class;
    }

    @Override
    public boolean isKeyType() {
        return false;
    }

    @Override
    public TypeSerializer<Rating> createSerializer(SerializerConfig config) {
        return RatingSerializer.INSTANCE;
    }

    @Override
    public String toString() {
        return "Rating";
    }

    @Override
    public boolean equals(Object o) {
        return o instanceof RatingTypeInfo;
    }

    @Override
    public int hashCode() {
        return RatingTypeInfo.class.hashCode();
    }

    @Override
    public boolean canEqual(Object o) {
        return o instanceof RatingTypeInfo;
    }
}
